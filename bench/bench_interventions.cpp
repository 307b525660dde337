// bench_interventions: what a benchmark case costs apart from the model: one linear edit, one
// gradient edit (Li et al.'s Adam loop against a 512 -> 128 -> 192 MLP probe), the probe's input
// gradient, the reachability search per case, and sampling a case set.
//   ./build/bench_interventions
//   ./build/bench_interventions --benchmark_filter=Gradient
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "interventions/cases.hpp"
#include "interventions/edit.hpp"

using namespace ogpt::interventions;
using ogpt::probes::Kind;
using ogpt::probes::Target;

namespace {

std::vector<float> random_x(int d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> x(d);
  for (float& v : x) v = n(rng);
  return x;
}

void BM_LinearEdit(benchmark::State& st) {
  const int d = static_cast<int>(st.range(0));
  const auto p = ogpt::probes::make_probe(Kind::linear, Target::mine_theirs, d, 0, 1);
  const auto x0 = random_x(d, 2);
  std::vector<float> x = x0;
  int cell = 0;
  for (auto _ : st) {
    x = x0;
    linear_edit(x.data(), p, cell, 2, LinearEditOptions{});
    cell = (cell + 1) & 63;
    benchmark::DoNotOptimize(x.data());
  }
  st.counters["edits/s"] = benchmark::Counter(double(st.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LinearEdit)->Arg(128)->Arg(512);

void BM_ProbeInputGrad(benchmark::State& st) {
  const int d = 512;
  const auto p = ogpt::probes::make_probe(Kind::mlp, Target::mine_theirs, d, 128, 1);
  const auto x = random_x(d, 3);
  uint8_t y[64] = {};
  float w[64];
  for (float& v : w) v = 0.2f;
  arma::fvec g;
  for (auto _ : st) benchmark::DoNotOptimize(probe_input_loss(p, x.data(), y, w, &g));
  st.counters["steps/s"] = benchmark::Counter(double(st.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProbeInputGrad);

void BM_GradientEdit(benchmark::State& st) {
  const int d = 512;
  const auto p = ogpt::probes::make_probe(Kind::mlp, Target::mine_theirs, d, 128, 1);
  const auto x0 = random_x(d, 4);
  GradientEditOptions opt;
  opt.max_steps = static_cast<int>(st.range(0));
  opt.stop_prob = 2.0f;  // never stop early: a fixed number of steps
  for (auto _ : st) {
    std::vector<float> x = x0;
    benchmark::DoNotOptimize(gradient_edit(x.data(), p, 19, 2, opt).steps);
  }
  st.counters["steps/s"] = benchmark::Counter(double(st.iterations()) * opt.max_steps, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GradientEdit)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_Reachability(benchmark::State& st) {
  CaseOptions opt;
  opt.per_set = 1;
  opt.max_nodes = static_cast<uint64_t>(st.range(0));
  // A fixed mix of flip cases: classify each edited board once per iteration.
  const auto cases = make_cases(CaseKind::flip, CaseOptions{1, 20, true, 1000});
  uint64_t n = 0;
  for (auto _ : st) {
    for (auto& c : cases) {
      const auto g = get_ground_truth(c.moves, c.cell, c.target);
      benchmark::DoNotOptimize(classify_reachability(g.after, opt.max_nodes, nullptr, &c.moves));
    }
    n += cases.size();
  }
  st.counters["cases/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Reachability)->Arg(1000)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_MakeCases(benchmark::State& st) {
  const CaseKind kind = st.range(0) ? CaseKind::erase : CaseKind::flip;
  for (auto _ : st) benchmark::DoNotOptimize(make_cases(kind, CaseOptions{7, 50, true, 5000}).size());
  st.SetLabel(std::string(case_kind_name(kind)) + ", 50 cases per set");
}
BENCHMARK(BM_MakeCases)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
