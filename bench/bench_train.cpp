// What the trainer adds to a step besides forward/backward: the AdamW update, the gradient norm
// (8x512 = 25.2M parameters), the Muon update (8x256, the shipped preset), and the batch
// preparation (fresh games, tokens, entropy floor).
// Run: ./build/bench_train [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <random>

#include "data/game.hpp"
#include "model/adamw.hpp"
#include "model/config.hpp"
#include "model/muon.hpp"

using namespace ogpt;

namespace {
struct Blocks {
  model::ParamBlock p, g;
  model::AdamWState s;
  explicit Blocks(const std::string& name) : p(model::preset(name)), g(model::preset(name)) {
    model::init_params(p, 1);
    std::mt19937_64 rng(2);
    std::normal_distribution<float> n(0.0f, 1e-3f);
    for (auto& x : g.data) x = n(rng);
  }
};
}  // namespace

static void BM_adamw_step_8x512(benchmark::State& state) {
  static Blocks b("8x512");
  model::AdamWHyper h;
  for (auto _ : state) model::adamw_step(b.p, b.g, b.s, h, 1e-4, 1.0);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(b.p.data.size()));
}
BENCHMARK(BM_adamw_step_8x512)->Unit(benchmark::kMillisecond);

// Muon on 8x256: five Newton-Schulz iterations per hidden matrix (48 of them) plus AdamW on the
// rest. Compare with a training step of 256 games (about 1.3-1.6 s on 2 Zen 5 cores).
static void BM_muon_step_8x256(benchmark::State& state) {
  static Blocks b("8x256");
  static model::MuonOptimizer muon(model::preset("8x256"));
  model::AdamWHyper h;
  for (auto _ : state) muon.step(b.p, b.g, b.s, h, 1e-4, 1.0);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(b.p.data.size()));
}
BENCHMARK(BM_muon_step_8x256)->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_grad_norm_8x512(benchmark::State& state) {
  static Blocks b("8x512");
  for (auto _ : state) benchmark::DoNotOptimize(model::grad_norm(b.g.data.data(), b.g.data.size()));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(b.g.data.size()));
}
BENCHMARK(BM_grad_norm_8x512)->Unit(benchmark::kMillisecond);

// Batch of 256 fresh games: generate, tokens and targets, entropy floor (as Trainer does).
static void BM_prepare_batch_256(benchmark::State& state) {
  std::vector<data::Game> games(256);
  std::vector<uint8_t> tokens(256 * 59), targets(256 * 59);
  uint64_t first = 0;
  for (auto _ : state) {
    data::generate_games(1, first, games.size(), games.data());
    first += games.size();
    double floor = 0;
    for (size_t b = 0; b < games.size(); ++b) {
      data::game_to_tokens(games[b], &tokens[b * 59], &targets[b * 59]);
      floor += data::entropy_floor(games[b]);
    }
    benchmark::DoNotOptimize(floor);
  }
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_prepare_batch_256)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
