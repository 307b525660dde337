// Probe training speed: 1,000,000 positions of 512-d synthetic activations (probes/synthetic.hpp),
// one epoch of mini-batch AdamW (batch 4096), as `probe train` runs it. Target: linear <= 30 s.
//   ./build/bench_probes --benchmark_filter=Linear
// Reports seconds per epoch, positions/s and the test accuracy reached (so a fast but broken
// trainer shows up).
#include <benchmark/benchmark.h>

#include "probes/metrics.hpp"
#include "probes/probe.hpp"
#include "probes/synthetic.hpp"

using namespace ogpt::probes;

namespace {
constexpr size_t kTrain = 1000000, kVal = 20000, kTest = 20000;
constexpr int kD = 512;

const SyntheticBoards& data() {
  static const SyntheticBoards s = make_synthetic_boards(kTrain + kVal + kTest, kD, 0.1f, 3);
  return s;
}

void run(benchmark::State& state, Kind kind) {
  const SyntheticBoards& s = data();
  const arma::fmat X_train(const_cast<float*>(s.X.memptr()), kD, kTrain, false, true);
  const arma::fmat X_val(const_cast<float*>(s.X.colptr(kTrain)), kD, kVal, false, true);
  const arma::fmat X_test(const_cast<float*>(s.X.colptr(kTrain + kVal)), kD, kTest, false, true);
  const uint8_t* y = s.mine_theirs.data();
  double acc = 0;
  for (auto _ : state) {
    Probe p = make_probe(kind, Target::mine_theirs, kD, 128, 1);
    TrainOptions opt = default_train_options(kind);
    opt.max_epochs = 1;
    opt.batch = 4096;
    opt.patience = 1000;  // time the full epoch
    opt.min_steps = 0;
    train_probe(p, X_train, y, X_val, y + kTrain * 64, opt);
    state.PauseTiming();
    std::vector<uint8_t> pred;
    probe_predict(pred, p, X_test);
    acc = compute_metrics(pred.data(), y + (kTrain + kVal) * 64, nullptr, kTest, 3).accuracy;
    state.ResumeTiming();
  }
  state.counters["positions/s"] = benchmark::Counter(double(kTrain), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["test_acc"] = acc;
}
}  // namespace

static void BM_LinearProbeEpoch1M(benchmark::State& state) { run(state, Kind::linear); }
static void BM_MlpProbeEpoch1M(benchmark::State& state) { run(state, Kind::mlp); }
BENCHMARK(BM_LinearProbeEpoch1M)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_MlpProbeEpoch1M)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime()->MeasureProcessCPUTime();

BENCHMARK_MAIN();
