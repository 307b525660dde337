#include "othello/perft.hpp"

#include <bit>
#include <string>

#include "othello/kernels.hpp"
#include "othello/reference.hpp"
#include "util/error.hpp"

namespace ogpt::othello {

const char* perft_mode_name(PerftMode m) { return m == PerftMode::bik ? "bik" : "oeis"; }

PerftMode parse_perft_mode(std::string_view s) {
  if (s == "bik") return PerftMode::bik;
  if (s == "oeis") return PerftMode::oeis;
  throw UserError("perft mode '" + std::string(s) + "': expected 'bik' or 'oeis'", kUsage);
}

namespace {
// depth >= 1. Works on the raw (player, opponent) pair: the colour never matters to a count.
template <bool kBik>
uint64_t perft_fast(Bitboard p, Bitboard o, int depth) {
  Bitboard moves = kernels::get_moves_fast(p, o);
  if (moves == 0) {
    if (kernels::get_moves_fast(o, p) == 0) return kBik ? 1 : 0;  // game over
    return depth == 1 ? 1 : perft_fast<kBik>(o, p, depth - 1);    // forced pass: one ply
  }
  if (depth == 1) return static_cast<uint64_t>(std::popcount(moves));  // bulk count
  uint64_t n = 0;
  for (; moves; moves &= moves - 1) {
    int sq = std::countr_zero(moves);
    Bitboard f = kernels::get_flips_fast(p, o, sq);
    n += perft_fast<kBik>(o & ~f, p | f | square_bit(sq), depth - 1);
  }
  return n;
}

uint64_t perft_slow(const Board& b, int depth, PerftMode mode) {
  if (depth == 0) return 1;
  Bitboard moves = reference::get_moves(b);
  if (moves == 0) {
    Board passed = board_pass(b);
    if (reference::get_moves(passed) == 0) return mode == PerftMode::bik ? 1 : 0;
    return perft_slow(passed, depth - 1, mode);
  }
  uint64_t n = 0;
  for (int sq = 0; sq < 64; ++sq)
    if ((moves >> sq) & 1) n += perft_slow(reference::board_next(b, sq), depth - 1, mode);
  return n;
}

void frontier(const Board& b, int plies, std::vector<Board>& out, uint64_t& ended) {
  if (plies == 0) {
    out.push_back(b);
    return;
  }
  Bitboard moves = get_moves(b);
  if (moves == 0) {
    Board passed = board_pass(b);
    if (get_moves(passed) == 0)
      ++ended;
    else
      frontier(passed, plies - 1, out, ended);
    return;
  }
  for (int sq : squares_of(moves)) frontier(board_next(b, sq), plies - 1, out, ended);
}
}  // namespace

uint64_t perft(const Board& b, int depth, PerftMode mode) {
  if (depth <= 0) return 1;
  return mode == PerftMode::bik ? perft_fast<true>(b.player, b.opponent, depth)
                                : perft_fast<false>(b.player, b.opponent, depth);
}

uint64_t perft_reference(const Board& b, int depth, PerftMode mode) {
  return perft_slow(b, depth, mode);
}

std::vector<Board> perft_frontier(const Board& b, int plies, uint64_t* ended) {
  std::vector<Board> out;
  uint64_t n = 0;
  frontier(b, plies, out, n);
  if (ended) *ended = n;
  return out;
}

}  // namespace ogpt::othello
