#include <doctest/doctest.h>

#include "othello/board.hpp"

using namespace ogpt::othello;

TEST_CASE("start position has the four standard first moves") {
  Board b = board_start();
  Bitboard m = get_moves(b);
  CHECK(count_discs(m) == 4);
  for (const char* s : {"c4", "d3", "e6", "f5"}) CHECK(((m >> parse_square(s)) & 1) == 1);
  CHECK(square_name(37) == "f5");
}

TEST_CASE("token ids skip the four centre squares") {
  CHECK(square_to_token(0) == 1);
  CHECK(square_to_token(63) == 60);
  int tok = 1;
  for (int sq = 0; sq < 64; ++sq) {
    if (is_centre(sq)) {
      CHECK(square_to_token(sq) == -1);
      continue;
    }
    CHECK(square_to_token(sq) == tok);
    CHECK(token_to_square(tok) == sq);
    ++tok;
  }
  CHECK(tok == 61);
}
