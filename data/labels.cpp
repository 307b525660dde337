// Per-position labels: one engine step per move (the legal set of position t is reused to check
// move t+1), and AVX-512 mask-to-bytes expansion for the two 64-cell boards.
#include "data/labels.hpp"

// GCC 12's AVX-512 headers trip its own -Wuninitialized (GCC bug 105593); silence it there only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <string>

#include "util/error.hpp"

namespace ogpt::data {

using othello::Bitboard;
using othello::Board;

namespace {
// out[i] = 1 if bit i of `one`, 2 if bit i of `two`, else 0 (the masks are disjoint).
inline void fill_classes(uint8_t* out, Bitboard one, Bitboard two) {
#ifdef __AVX512BW__
  __m512i v = _mm512_or_si512(_mm512_maskz_set1_epi8(one, 1), _mm512_maskz_set1_epi8(two, 2));
  _mm512_storeu_si512(out, v);
#else
  for (int i = 0; i < 64; ++i)
    out[i] = static_cast<uint8_t>(((one >> i) & 1) | (((two >> i) & 1) << 1));
#endif
}
}  // namespace

void label_game(const Game& g, PositionLabels* out) {
  Board b = othello::board_start();  // always has the player to move next (after any pass)
  Bitboard legal = othello::get_moves(b);
  for (int t = 0; t < g.length; ++t) {
    int sq = g.moves[t];
    if (sq > 63 || !((legal >> sq) & 1))
      throw UserError("label_game: move " + std::to_string(t + 1) + " (" + othello::square_name(sq) +
                      ") is not legal");
    PositionLabels& L = out[t];
    L.flipped = othello::get_flips(b, sq);
    b = othello::board_next(b, sq);
    legal = othello::get_moves(b);
    L.game_over = false;
    if (!legal) {
      Board passed = othello::board_pass(b);
      Bitboard again = othello::get_moves(passed);
      if (again) {  // the opponent passes: the mover moves again
        b = passed;
        legal = again;
      } else {      // nobody can move; "next" stays the opponent of the mover
        L.game_over = true;
      }
    }
    L.legal = legal;
    L.empty = b.empty();
    L.to_move = b.to_move;
    fill_classes(L.black_white, b.black(), b.white());
    fill_classes(L.mine_theirs, b.player, b.opponent);
  }
}

}  // namespace ogpt::data
