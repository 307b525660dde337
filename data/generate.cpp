// Synthetic games as Li et al. made them: a uniformly random legal move at every step, implicit
// passes, until neither side can move.
#include "data/generate.hpp"

#include <omp.h>

#include <vector>

#include "othello/board.hpp"

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
  Game g;
  GameRng rng = game_rng(seed, index);
  Board b = othello::board_start();
  int passes = 0;
  for (int t = 0; t < 60; ++t) {
    Bitboard m = othello::get_moves(b);
    if (!m) {  // the side to move passes; if the other side cannot move either, the game is over
      b = othello::board_pass(b);
      m = othello::get_moves(b);
      if (!m) break;
      ++passes;
    }
    int k = static_cast<int>(random_below(rng.next32(), static_cast<uint32_t>(std::popcount(m))));
    int sq = pick_kth_bit(m, k);
    g.moves[t] = static_cast<uint8_t>(sq);
    g.length = static_cast<uint8_t>(t + 1);
    b = othello::board_next(b, sq);
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

GenerateStats generate_games_stats(uint64_t seed, uint64_t first, size_t n, Game* out,
                                   int threads) {
  if (threads <= 0) threads = omp_get_max_threads();
  GenerateStats total;
  // Static schedule over independent games: each game depends only on (seed, first + i).
#pragma omp parallel num_threads(threads)
  {
    GenerateStats local;
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; ++i) {
      int passes = 0;
      out[i] = random_game_counted(seed, first + i, &passes);
      local.games += 1;
      local.moves += out[i].length;
      local.games_with_passes += passes > 0;
      local.games_short += out[i].length < 60;
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
