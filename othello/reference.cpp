#include "othello/reference.hpp"

namespace ogpt::othello::reference {

namespace {
bool has(Bitboard bb, int r, int c) { return (bb >> (r * 8 + c)) & 1; }
bool on_board(int r, int c) { return r >= 0 && r < 8 && c >= 0 && c < 8; }
}  // namespace

Bitboard get_flips(const Board& b, int sq) {
  if (sq < 0 || sq > 63) return 0;
  int row = sq / 8, col = sq % 8;
  if (has(b.player | b.opponent, row, col)) return 0;
  Bitboard flips = 0;
  for (int dr = -1; dr <= 1; ++dr)
    for (int dc = -1; dc <= 1; ++dc) {
      if (dr == 0 && dc == 0) continue;
      // Walk over opponent discs; they flip if the walk ends on one of the player's discs.
      Bitboard run = 0;
      int r = row + dr, c = col + dc;
      while (on_board(r, c) && has(b.opponent, r, c)) {
        run |= Bitboard{1} << (r * 8 + c);
        r += dr;
        c += dc;
      }
      if (run != 0 && on_board(r, c) && has(b.player, r, c)) flips |= run;
    }
  return flips;
}

Bitboard get_moves(const Board& b) {
  Bitboard moves = 0;
  for (int sq = 0; sq < 64; ++sq)
    if (reference::get_flips(b, sq) != 0) moves |= Bitboard{1} << sq;
  return moves;
}

Board board_next(const Board& b, int sq) {
  Bitboard f = reference::get_flips(b, sq);
  Board n;
  n.player = b.opponent & ~f;
  n.opponent = b.player | f | (Bitboard{1} << sq);
  n.to_move = other(b.to_move);
  return n;
}

}  // namespace ogpt::othello::reference
