// Synthetic games as Li et al. made them: a uniformly random legal move at every step, implicit
// passes, until neither side can move.
#include "data/generate.hpp"

#include <omp.h>

#include <utility>
#include <vector>

#include "othello/board.hpp"
#include "othello/kernels.hpp"

namespace ogpt::data {

using othello::Bitboard;
using othello::Board;

int pick_kth_bit_reference(uint64_t mask, int k) {
  int seen = 0;
  for (int sq = 0; sq < 64; ++sq) {
    if (!((mask >> sq) & 1)) continue;
    if (seen == k) return sq;
    ++seen;
  }
  return -1;
}

Game random_game_counted(uint64_t seed, uint64_t index, int* n_passes) {
  // The engine's header-only kernels on (player, opponent), inlined: this loop is the whole
  // cost of making a dataset (board.cpp's get_moves/board_next are the same kernels, called).
  namespace k = othello::kernels;
  Game g;
  GameRng rng = game_rng(seed, index);
  Board start = othello::board_start();
  Bitboard p = start.player, o = start.opponent;
  int passes = 0;
  for (int t = 0; t < 60; ++t) {
    Bitboard m = k::get_moves_fast(p, o);
    if (!m) {  // the side to move passes; if the other side cannot move either, the game is over
      std::swap(p, o);
      m = k::get_moves_fast(p, o);
      if (!m) break;
      ++passes;
    }
    int pick = static_cast<int>(random_below(rng.next32(), static_cast<uint32_t>(std::popcount(m))));
    int sq = pick_kth_bit(m, pick);
    g.moves[t] = static_cast<uint8_t>(sq);
    g.length = static_cast<uint8_t>(t + 1);
    Bitboard f = k::get_flips_fast(p, o, sq);
    Bitboard np = o & ~f;
    o = p | f | (Bitboard{1} << sq);
    p = np;
  }
  if (n_passes) *n_passes = passes;
  return g;
}

Game random_game(uint64_t seed, uint64_t index) { return random_game_counted(seed, index, nullptr); }

Game random_game_reference(uint64_t seed, uint64_t index) {
  Game g;
  GameRng rng = game_rng(seed, index);
  Board b = othello::board_start();
  for (int t = 0; t < 60; ++t) {
    // Legal moves the slow way: every empty square that flips something, in square order.
    std::vector<int> legal;
    for (int pass = 0; pass < 2 && legal.empty(); ++pass) {
      if (pass == 1) b = othello::board_pass(b);
      for (int sq = 0; sq < 64; ++sq)
        if (othello::get_flips(b, sq) != 0) legal.push_back(sq);
    }
    if (legal.empty()) break;
    uint32_t r = rng.next32();
    int sq = legal[static_cast<size_t>((static_cast<uint64_t>(r) * legal.size()) >> 32)];
    g.moves[t] = static_cast<uint8_t>(sq);
    g.length = static_cast<uint8_t>(t + 1);
    b = othello::board_next(b, sq);
  }
  return g;
}

// kLanes games in lockstep in one thread. One game is a chain of dependent steps (moves ->
// pick -> flips -> board -> moves ...), so a single game leaves most of the core idle; running
// independent games side by side lets the out-of-order core overlap their chains. Each lane is
// exactly random_game_counted(seed, first + lane) (tested).
template <int kLanes>
void random_games_lanes(uint64_t seed, uint64_t first, Game* out, int* n_passes) {
  namespace k = othello::kernels;
  Board start = othello::board_start();
  Bitboard p[kLanes], o[kLanes];
  GameRng rng[kLanes];
  bool done[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    p[l] = start.player;
    o[l] = start.opponent;
    rng[l] = game_rng(seed, first + l);
    done[l] = false;
    n_passes[l] = 0;
    out[l] = Game{};
  }
  for (int t = 0; t < 60; ++t) {
    for (int l = 0; l < kLanes; ++l) {
      if (done[l]) continue;
      Bitboard m = k::get_moves_fast(p[l], o[l]);
      if (!m) [[unlikely]] {
        std::swap(p[l], o[l]);
        m = k::get_moves_fast(p[l], o[l]);
        if (!m) {
          done[l] = true;
          continue;
        }
        ++n_passes[l];
      }
      int pick = static_cast<int>(random_below(rng[l].next32(), static_cast<uint32_t>(std::popcount(m))));
      int sq = pick_kth_bit(m, pick);
      out[l].moves[t] = static_cast<uint8_t>(sq);
      out[l].length = static_cast<uint8_t>(t + 1);
      Bitboard f = k::get_flips_fast(p[l], o[l], sq);
      Bitboard np = o[l] & ~f;
      o[l] = p[l] | f | (Bitboard{1} << sq);
      p[l] = np;
    }
  }
}

void random_games_x4(uint64_t seed, uint64_t first, Game* out, int* n_passes) {
  random_games_lanes<4>(seed, first, out, n_passes);
}

GenerateStats generate_games_stats(uint64_t seed, uint64_t first, size_t n, Game* out,
                                   int threads) {
  if (threads <= 0) threads = omp_get_max_threads();
  constexpr size_t kL = 4;
  size_t groups = n / kL;
  GenerateStats total;
  // Static schedule over independent games: each game depends only on (seed, first + i).
#pragma omp parallel num_threads(threads)
  {
    GenerateStats local;
    auto count = [&](const Game& g, int passes) {
      local.games += 1;
      local.moves += g.length;
      local.games_with_passes += passes > 0;
      local.games_short += g.length < 60;
    };
#pragma omp for schedule(static)
    for (size_t gi = 0; gi < groups; ++gi) {
      int passes[kL];
      random_games_lanes<kL>(seed, first + gi * kL, out + gi * kL, passes);
      for (size_t l = 0; l < kL; ++l) count(out[gi * kL + l], passes[l]);
    }
#pragma omp for schedule(static)
    for (size_t i = groups * kL; i < n; ++i) {
      int passes = 0;
      out[i] = random_game_counted(seed, first + i, &passes);
      count(out[i], passes);
    }
#pragma omp critical
    total.add(local);
  }
  return total;
}

void generate_games(uint64_t seed, uint64_t first, size_t n, Game* out, int threads) {
  generate_games_stats(seed, first, n, out, threads);
}

}  // namespace ogpt::data
