// The engine: notation, token ids, and every fast kernel against the reference engine on
// positions reached by random play and on random bitboard pairs.
#include <doctest/doctest.h>

#include <bit>
#include <string>

#include "othello/board.hpp"
#include "othello/kernels.hpp"
#include "othello/reference.hpp"

using namespace ogpt::othello;

namespace {
// splitmix64: a small deterministic generator, so a failure names a reproducible position.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }
};

int pick(Rng& rng, Bitboard moves) {
  int list[64];
  int n = get_moves_list(moves, list);
  return list[rng.below(n)];
}

std::string where(const Board& b) {
  return "player=" + std::to_string(b.player) + " opponent=" + std::to_string(b.opponent);
}

// Compares every variant of get_moves, and get_flips on `squares`, with the reference.
// Returns the number of mismatches (each one also reported by doctest).
int compare(const Board& b, Bitboard squares) {
  int bad = 0;
  Bitboard want = reference::get_moves(b);
  Bitboard got[] = {get_moves(b), kernels::get_moves_scalar(b.player, b.opponent),
#if OGPT_HAVE_AVX512
                    kernels::get_moves_avx512(b.player, b.opponent),
                    kernels::get_moves_avx256(b.player, b.opponent),
#endif
  };
  for (Bitboard g : got)
    if (g != want) {
      ++bad;
      FAIL_CHECK("get_moves differs at " << where(b));
    }
  for (int sq : squares_of(squares)) {
    Bitboard f = reference::get_flips(b, sq);
    if (get_flips(b, sq) != f) {
      ++bad;
      FAIL_CHECK("get_flips(" << square_name(sq) << ") differs at " << where(b));
    }
    if (b.empty() >> sq & 1) {  // the raw kernels assume an empty square
      Bitboard k[] = {kernels::get_flips_scalar(b.player, b.opponent, sq),
#if OGPT_HAVE_AVX512
                      kernels::get_flips_avx512(b.player, b.opponent, sq),
                      kernels::get_flips_avx256(b.player, b.opponent, sq),
#endif
      };
      for (Bitboard g : k)
        if (g != f) {
          ++bad;
          FAIL_CHECK("kernel flips(" << square_name(sq) << ") differ at " << where(b));
        }
    }
    if (f != 0 && board_next(b, sq) != reference::board_next(b, sq)) {
      ++bad;
      FAIL_CHECK("board_next(" << square_name(sq) << ") differs at " << where(b));
    }
  }
  return bad;
}
}  // namespace

TEST_CASE("othello: start position, notation and centre squares") {
  Board b = board_start();
  CHECK(b.black() == (square_bit(35) | square_bit(28)));  // d5 e4
  CHECK(b.white() == (square_bit(27) | square_bit(36)));  // d4 e5
  CHECK(b.to_move == Color::black);
  Bitboard m = get_moves(b);
  CHECK(m == (square_bit(parse_square("c4")) | square_bit(parse_square("d3")) |
              square_bit(parse_square("e6")) | square_bit(parse_square("f5"))));
  CHECK(parse_square("f5") == 37);
  CHECK(parse_square("F5") == 37);
  CHECK(parse_square("a1") == 0);
  CHECK(parse_square("h8") == 63);
  for (const char* bad : {"", "a", "a0", "a9", "i1", "11", "f55", "5f"}) CHECK(parse_square(bad) == -1);
  for (int sq = 0; sq < 64; ++sq) CHECK(parse_square(square_name(sq)) == sq);
  CHECK(square_name(37) == "f5");
  int centre = 0;
  for (int sq = 0; sq < 64; ++sq) centre += is_centre(sq);
  CHECK(centre == 4);
  CHECK(board_from_colors(b.black(), b.white(), Color::white).player == b.white());
}

TEST_CASE("othello: token ids skip the four centre squares, TransformerLens labels") {
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
  CHECK(token_to_square(0) == -1);
  CHECK(token_to_square(61) == -1);
  // TransformerLens: row letter then column digit, both from 0: f5 (row 4, col 5) is "E5".
  CHECK(tl_label(37) == "E5");
  CHECK(tl_label(0) == "A0");
  CHECK(tl_label(63) == "H7");
  CHECK(tl_label(parse_square("c4")) == "D2");
}

TEST_CASE("othello: helpers (square lists, iteration, score)") {
  int list[64];
  CHECK(get_moves_list(0, list) == 0);
  Bitboard bb = square_bit(3) | square_bit(17) | square_bit(63);
  REQUIRE(get_moves_list(bb, list) == 3);
  CHECK(list[0] == 3);
  CHECK(list[1] == 17);
  CHECK(list[2] == 63);
  int k = 0;
  for (int sq : squares_of(bb)) CHECK(sq == list[k++]);
  CHECK(k == 3);
  CHECK(get_moves_list(~0ull, list) == 64);
  Score s = get_score(board_next(board_start(), 37));
  CHECK(s.black == 4);
  CHECK(s.white == 1);
  CHECK(s.outcome() == Outcome::black_wins);
  CHECK(std::string(outcome_name(Outcome::draw)) == "draw");
}

TEST_CASE("othello: forced pass and game over") {
  // Black a1 c1, white b1, black to move: black has no move, white can take d1.
  Board b = board_from_colors(square_bit(0) | square_bit(2), square_bit(1), Color::black);
  CHECK(get_moves(b) == 0);
  CHECK_FALSE(can_move(b));
  CHECK_FALSE(is_game_over(b));
  Board w = board_pass(b);
  CHECK(w.to_move == Color::white);
  CHECK(get_moves(w) == square_bit(3));
  CHECK(get_flips(w, 3) == square_bit(2));
  Board after = board_next(w, 3);
  CHECK(after.to_move == Color::black);
  CHECK(after.white() == (square_bit(1) | square_bit(2) | square_bit(3)));
  CHECK(get_moves(after) == square_bit(4));  // a1 x x x e1
  // One colour only: nobody can move.
  Board mono = board_from_colors(square_bit(0) | square_bit(9), 0, Color::white);
  CHECK(is_game_over(mono));
  CHECK(get_score(mono).outcome() == Outcome::black_wins);
  // get_flips refuses occupied squares and out-of-range squares.
  CHECK(get_flips(board_start(), 27) == 0);
  CHECK(get_flips(board_start(), -1) == 0);
  CHECK(get_flips(board_start(), 64) == 0);
}

TEST_CASE("othello: fast kernels match the reference on random games") {
  Rng rng{12345};
  long positions = 0, bad = 0, games = 0, passes = 0;
  while (positions < 1000000) {
    Board b = board_start();
    ++games;
    while (true) {
      // Legal moves plus two random squares exercise get_flips on legal and illegal squares.
      Bitboard moves = get_moves(b);
      bad += compare(b, moves | square_bit(rng.below(64)) | square_bit(rng.below(64)));
      ++positions;
      if (moves == 0) {
        if (is_game_over(b)) break;
        b = board_pass(b);
        ++passes;
        continue;
      }
      b = board_next(b, pick(rng, moves));
    }
    if (bad > 20) break;  // one message per bug is enough
  }
  CHECK(bad == 0);
  CHECK(passes > 0);  // the walk did reach forced passes
  MESSAGE(positions << " positions from " << games << " random games, " << passes << " passes");
}

TEST_CASE("othello: fast kernels match the reference on random bitboard pairs") {
  Rng rng{777};
  long bad = 0;
  const int n = 1000000;
  for (int i = 0; i < n && bad <= 20; ++i) {
    // Occupancy density 1, 1/2, 1/4 or 1/8, shared between the sides by another random word.
    Bitboard occ = ~0ull;
    for (int k = rng.below(4); k > 0; --k) occ &= rng.next();
    Bitboard split = rng.next();
    if (i % 5 == 0) split &= rng.next();  // lopsided positions
    Board b = board_from_colors(occ & split, occ & ~split, i % 2 ? Color::white : Color::black);
    // Every square on one position in 16, else the moves plus two random squares.
    Bitboard squares = i % 16 == 0 ? ~0ull
                                   : get_moves(b) | square_bit(rng.below(64)) | square_bit(rng.below(64));
    bad += compare(b, squares);
  }
  CHECK(bad == 0);
}
