// bench_data: the synthetic generator (one thread and all threads), the game-file writer and
// reader (separately, so file I/O never hides the generator), labels, batches, and the entropy
// floor of random games over 100k games.
//   ./build/bench_data                       (all)
//   ./build/bench_data --benchmark_filter=Generate
#include <benchmark/benchmark.h>
#include <omp.h>
#include <unistd.h>

#include <vector>

#include "data/game.hpp"
#include "data/game_file.hpp"
#include "data/generate.hpp"
#include "data/labels.hpp"

using namespace ogpt::data;

namespace {
constexpr size_t kBlock = 1 << 16;

const std::vector<Game>& sample_games() {
  static std::vector<Game> g = [] {
    std::vector<Game> v(kBlock);
    generate_games(1, 0, v.size(), v.data());
    return v;
  }();
  return g;
}

uint64_t total_moves(const std::vector<Game>& g) {
  uint64_t m = 0;
  for (auto& x : g) m += x.length;
  return m;
}

void set_rates(benchmark::State& st, uint64_t games, uint64_t moves) {
  st.counters["games/s"] = benchmark::Counter(double(games), benchmark::Counter::kIsRate);
  st.counters["ns/move"] = benchmark::Counter(double(moves) * 1e-9,
                                              benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
}  // namespace

// One core, one game at a time: the generator's per-move cost.
static void BM_RandomGame(benchmark::State& st) {
  uint64_t i = 0, moves = 0;
  for (auto _ : st) {
    Game g = random_game(42, i++);
    benchmark::DoNotOptimize(g);
    moves += g.length;
  }
  set_rates(st, i, moves);
}
BENCHMARK(BM_RandomGame);

// One core, four games in lockstep (what generate_games runs on each thread).
static void BM_RandomGamesX4(benchmark::State& st) {
  uint64_t i = 0, moves = 0;
  Game g[4];
  int passes[4];
  for (auto _ : st) {
    random_games_x4(42, i, g, passes);
    benchmark::DoNotOptimize(g);
    i += 4;
    for (auto& x : g) moves += x.length;
  }
  set_rates(st, i, moves);
}
BENCHMARK(BM_RandomGamesX4);

// generate_games over a 65536-game block on N threads (wall-clock rates).
static void BM_GenerateGames(benchmark::State& st) {
  int threads = static_cast<int>(st.range(0));
  std::vector<Game> out(kBlock);
  uint64_t first = 0, moves = 0;
  for (auto _ : st) {
    generate_games(42, first, out.size(), out.data(), threads);
    first += out.size();
    moves += total_moves(out);
  }
  set_rates(st, first, moves);
}
BENCHMARK(BM_GenerateGames)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
// The same per CPU-second summed over threads (games per core-second): on a machine shared with
// other jobs the wall-clock figure above undercounts; two free cores give twice this rate.
BENCHMARK(BM_GenerateGames)->Arg(2)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// The writer's encoding (length byte + moves + crc32), in memory.
static void BM_EncodeChunk(benchmark::State& st) {
  const auto& g = sample_games();
  std::string buf;
  uint64_t games = 0;
  for (auto _ : st) {
    buf.clear();
    encode_chunk(g.data(), g.size(), buf);
    benchmark::DoNotOptimize(buf.data());
    games += g.size();
  }
  st.counters["games/s"] = benchmark::Counter(double(games), benchmark::Counter::kIsRate);
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(buf.size()));
}
BENCHMARK(BM_EncodeChunk)->Unit(benchmark::kMillisecond);

// The whole writer: 16 chunks (1M games) to a file in /tmp, atomically (fsync included).
static void BM_WriteFile(benchmark::State& st) {
  const auto& g = sample_games();
  std::string path = "/tmp/bench_data_" + std::to_string(::getpid()) + ".games";
  uint64_t games = 0;
  for (auto _ : st) {
    GameFileInfo info;
    info.count = 16 * g.size();
    GameWriter w(path, info);
    for (int c = 0; c < 16; ++c) w.write(g.data(), g.size());
    w.commit();
    games += info.count;
  }
  ::unlink(path.c_str());
  st.counters["games/s"] = benchmark::Counter(double(games), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WriteFile)->UseRealTime()->Unit(benchmark::kMillisecond);

// The reader, with and without legality validation (replaying every game).
static void BM_ReadFile(benchmark::State& st) {
  bool validate = st.range(0) != 0;
  const auto& g = sample_games();
  std::string path = "/tmp/bench_data_r_" + std::to_string(::getpid()) + ".games";
  GameFileInfo info;
  info.count = 8 * g.size();
  {
    GameWriter w(path, info);
    for (int c = 0; c < 8; ++c) w.write(g.data(), g.size());
    w.commit();
  }
  uint64_t games = 0;
  std::vector<Game> batch;
  for (auto _ : st) {
    GameReader r(path, validate);
    while (r.next_batch(batch, 4096)) games += batch.size();
  }
  ::unlink(path.c_str());
  st.counters["games/s"] = benchmark::Counter(double(games), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadFile)->Arg(0)->Arg(1)->ArgNames({"validate"})->UseRealTime()->Unit(benchmark::kMillisecond);

static void BM_LabelGame(benchmark::State& st) {
  const auto& g = sample_games();
  PositionLabels out[60];
  uint64_t i = 0, positions = 0;
  for (auto _ : st) {
    const Game& x = g[i++ % g.size()];
    label_game(x, out);
    benchmark::DoNotOptimize(out);
    positions += x.length;
  }
  st.counters["positions/s"] = benchmark::Counter(double(positions), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LabelGame);

static void BM_MakeBatch(benchmark::State& st) {
  const auto& g = sample_games();
  const int B = 512;
  std::vector<uint8_t> tok(B * kContext), tgt(B * kContext);
  size_t at = 0;
  for (auto _ : st) {
    make_batch(g.data() + at, B, tok.data(), tgt.data());
    benchmark::DoNotOptimize(tok.data());
    at = (at + B) % (g.size() - B);
  }
  st.counters["games/s"] = benchmark::Counter(double(st.iterations()) * B, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MakeBatch);

// Not a speed: the entropy floor (nats per predicted move) of 100k random games, as a counter.
static void BM_EntropyFloor100k(benchmark::State& st) {
  double nats = 0;
  long targets = 0;
  for (auto _ : st) {
    nats = 0;
    targets = 0;
    for (uint64_t i = 0; i < 100000; ++i) {
      Game x = random_game(2024, i);
      nats += entropy_floor(x);
      targets += n_targets(x);
    }
  }
  st.counters["nats_per_move"] = nats / double(targets);
  st.counters["targets"] = double(targets);
}
BENCHMARK(BM_EntropyFloor100k)->Iterations(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
