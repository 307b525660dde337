// Engine speed: every kernel variant against the reference, and perft leaves/s.
//   ./build/bench_engine [--benchmark_filter=moves]
// Positions come from random games (fixed seed), so all variants see the same mix of
// openings, middle games and endings.
#include <benchmark/benchmark.h>

#include <bit>
#include <utility>

#include <vector>

#include "othello/board.hpp"
#include "othello/kernels.hpp"
#include "othello/perft.hpp"
#include "othello/reference.hpp"

#ifdef __BMI2__
#include <immintrin.h>  // _pdep_u64; after kernels.hpp, which silences GCC 12 warnings in it
#endif

using namespace ogpt::othello;

namespace {
struct Sample {
  std::vector<Board> boards;  // positions where the side to move has a move
  std::vector<int> moves;     // one legal move for each
};

const Sample& sample() {
  static Sample s = [] {
    Sample out;
    uint64_t x = 42;
    auto next = [&x] {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      return x >> 33;
    };
    while (out.boards.size() < 8192) {
      Board b = board_start();
      while (true) {
        Bitboard m = get_moves(b);
        if (m == 0) {
          if (is_game_over(b)) break;
          b = board_pass(b);
          continue;
        }
        int list[64];
        int n = get_moves_list(m, list);
        int sq = list[next() % static_cast<uint64_t>(n)];
        out.boards.push_back(b);
        out.moves.push_back(sq);
        b = board_next(b, sq);
      }
    }
    return out;
  }();
  return s;
}

template <class F>
void run_moves(benchmark::State& state, F f) {
  const auto& s = sample();
  size_t i = 0, n = s.boards.size();
  for (auto _ : state) {
    const Board& b = s.boards[i];
    benchmark::DoNotOptimize(f(b.player, b.opponent));
    i = i + 1 == n ? 0 : i + 1;
  }
  state.SetItemsProcessed(state.iterations());
}

template <class F>
void run_flips(benchmark::State& state, F f) {
  const auto& s = sample();
  size_t i = 0, n = s.boards.size();
  for (auto _ : state) {
    const Board& b = s.boards[i];
    benchmark::DoNotOptimize(f(b.player, b.opponent, s.moves[i]));
    i = i + 1 == n ? 0 : i + 1;
  }
  state.SetItemsProcessed(state.iterations());
}
}  // namespace

// ---- get_moves ----------------------------------------------------------------------------
void BM_get_moves_reference(benchmark::State& state) {
  run_moves(state, [](Bitboard p, Bitboard o) { return reference::get_moves(Board{p, o}); });
}
void BM_get_moves_scalar(benchmark::State& state) { run_moves(state, kernels::get_moves_scalar); }
#if OGPT_HAVE_AVX512
void BM_get_moves_avx512(benchmark::State& state) { run_moves(state, kernels::get_moves_avx512); }
void BM_get_moves_avx256(benchmark::State& state) { run_moves(state, kernels::get_moves_avx256); }
BENCHMARK(BM_get_moves_avx512);
BENCHMARK(BM_get_moves_avx256);
#endif
void BM_get_moves_public(benchmark::State& state) {  // the out-of-line board.cpp entry point
  run_moves(state, [](Bitboard p, Bitboard o) { return get_moves(Board{p, o}); });
}
BENCHMARK(BM_get_moves_reference);
BENCHMARK(BM_get_moves_scalar);
BENCHMARK(BM_get_moves_public);

// ---- get_flips / board_next ---------------------------------------------------------------
void BM_get_flips_reference(benchmark::State& state) {
  run_flips(state, [](Bitboard p, Bitboard o, int sq) { return reference::get_flips(Board{p, o}, sq); });
}
void BM_get_flips_scalar(benchmark::State& state) { run_flips(state, kernels::get_flips_scalar); }
#if OGPT_HAVE_AVX512
void BM_get_flips_avx512(benchmark::State& state) { run_flips(state, kernels::get_flips_avx512); }
void BM_get_flips_avx256(benchmark::State& state) { run_flips(state, kernels::get_flips_avx256); }
BENCHMARK(BM_get_flips_avx512);
BENCHMARK(BM_get_flips_avx256);
#endif
void BM_board_next(benchmark::State& state) {
  run_flips(state, [](Bitboard p, Bitboard o, int sq) { return board_next(Board{p, o}, sq).player; });
}
BENCHMARK(BM_get_flips_reference);
BENCHMARK(BM_get_flips_scalar);
BENCHMARK(BM_board_next);

// ---- latency-bound uses: random playouts and perft per kernel pair -------------------------
// A playout (get_moves, pick, board_next until the game ends) is the game generator's loop;
// each step waits for the previous one, so it measures latency, not throughput.
struct KScalar {
  static Bitboard moves(Bitboard p, Bitboard o) { return kernels::get_moves_scalar(p, o); }
  static Bitboard flips(Bitboard p, Bitboard o, int sq) { return kernels::get_flips_scalar(p, o, sq); }
};
#if OGPT_HAVE_AVX512
struct KAvx512 {
  static Bitboard moves(Bitboard p, Bitboard o) { return kernels::get_moves_avx512(p, o); }
  static Bitboard flips(Bitboard p, Bitboard o, int sq) { return kernels::get_flips_avx512(p, o, sq); }
};
struct KAvx256 {
  static Bitboard moves(Bitboard p, Bitboard o) { return kernels::get_moves_avx256(p, o); }
  static Bitboard flips(Bitboard p, Bitboard o, int sq) { return kernels::get_flips_avx256(p, o, sq); }
};
#endif

// The k-th set square of m (k from 0): one pdep with BMI2.
inline int nth_square(Bitboard m, int k) {
#ifdef __BMI2__
  return std::countr_zero(_pdep_u64(Bitboard{1} << k, m));
#else
  for (; k > 0; --k) m &= m - 1;
  return std::countr_zero(m);
#endif
}

template <class K>
void BM_playout(benchmark::State& state) {
  uint64_t x = 7, plies = 0;
  for (auto _ : state) {
    Bitboard p = board_start().player, o = board_start().opponent;
    while (true) {
      Bitboard m = K::moves(p, o);
      if (m == 0) {
        if (K::moves(o, p) == 0) break;
        std::swap(p, o);
        continue;
      }
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      int n = std::popcount(m);
      int sq = nth_square(m, static_cast<int>((x >> 32) % static_cast<uint64_t>(n)));
      Bitboard f = K::flips(p, o, sq);
      Bitboard np = o & ~f;
      o = p | f | square_bit(sq);
      p = np;
      ++plies;
    }
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["plies/s"] = benchmark::Counter(static_cast<double>(plies), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_playout<KScalar>);
#if OGPT_HAVE_AVX512
BENCHMARK(BM_playout<KAvx512>);
BENCHMARK(BM_playout<KAvx256>);
#endif

template <class K>
uint64_t perft_with(Bitboard p, Bitboard o, int depth) {  // perft.cpp's loop, kernels as a parameter
  Bitboard m = K::moves(p, o);
  if (m == 0) {
    if (K::moves(o, p) == 0) return 1;
    return depth == 1 ? 1 : perft_with<K>(o, p, depth - 1);
  }
  if (depth == 1) return static_cast<uint64_t>(std::popcount(m));
  uint64_t n = 0;
  for (; m; m &= m - 1) {
    int sq = std::countr_zero(m);
    Bitboard f = K::flips(p, o, sq);
    n += perft_with<K>(o & ~f, p | f | square_bit(sq), depth - 1);
  }
  return n;
}
template <class K>
void BM_perft_kernels(benchmark::State& state) {
  uint64_t leaves = 0;
  Board b = board_start();
  for (auto _ : state) leaves += perft_with<K>(b.player, b.opponent, static_cast<int>(state.range(0)));
  state.SetItemsProcessed(static_cast<int64_t>(leaves));
}
BENCHMARK(BM_perft_kernels<KScalar>)->Arg(10)->Unit(benchmark::kMillisecond);
#if OGPT_HAVE_AVX512
BENCHMARK(BM_perft_kernels<KAvx512>)->Arg(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_perft_kernels<KAvx256>)->Arg(10)->Unit(benchmark::kMillisecond);
#endif

// ---- perft: items = leaves ----------------------------------------------------------------
void BM_perft(benchmark::State& state) {
  int depth = static_cast<int>(state.range(0));
  uint64_t leaves = 0;
  for (auto _ : state) leaves += perft(board_start(), depth, PerftMode::bik);
  state.SetItemsProcessed(static_cast<int64_t>(leaves));
}
BENCHMARK(BM_perft)->Arg(9)->Arg(11)->Unit(benchmark::kMillisecond);

void BM_perft_reference(benchmark::State& state) {
  int depth = static_cast<int>(state.range(0));
  uint64_t leaves = 0;
  for (auto _ : state) leaves += perft_reference(board_start(), depth, PerftMode::bik);
  state.SetItemsProcessed(static_cast<int64_t>(leaves));
}
BENCHMARK(BM_perft_reference)->Arg(6)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
