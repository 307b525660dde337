#pragma once
// The Othello engine: a position as two bitboards relative to the side to move (Edax style),
// plus the colour to move so that black/white views can be recovered.
//
// Squares: index = row*8 + col, a1 = 0 (top-left), h1 = 7, a8 = 56, h8 = 63. Notation is the
// column letter then the row digit: "f5" = row 4, col 5 = 37. Bit i of a Bitboard is square i.
// Start: black on d5 (35) and e4 (28), white on d4 (27) and e5 (36); black moves first.
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace ogpt::othello {

using Bitboard = uint64_t;
enum class Color : uint8_t { black = 0, white = 1 };
inline Color other(Color c) { return c == Color::black ? Color::white : Color::black; }
const char* color_name(Color c);  // "black" / "white"

struct Board {
  Bitboard player = 0;    // discs of the side to move
  Bitboard opponent = 0;  // discs of the other side
  Color to_move = Color::black;

  Bitboard black() const { return to_move == Color::black ? player : opponent; }
  Bitboard white() const { return to_move == Color::black ? opponent : player; }
  Bitboard empty() const { return ~(player | opponent); }
  bool operator==(const Board&) const = default;
};

Board board_start();
// Builds a board from black/white discs and the colour to move.
Board board_from_colors(Bitboard black, Bitboard white, Color to_move);

// Fast paths (bit-parallel shifts).
Bitboard get_moves(const Board& b);           // legal squares for the side to move
Bitboard get_flips(const Board& b, int sq);   // discs flipped if the side to move plays sq; 0 if illegal
Board board_next(const Board& b, int sq);     // plays sq (must be legal), then the other side is to move
Board board_pass(const Board& b);             // the side to move passes
bool can_move(const Board& b);                // get_moves(b) != 0
bool is_game_over(const Board& b);            // neither side can move
int count_discs(Bitboard bb);

// Squares and notation.
inline int square(int row, int col) { return row * 8 + col; }
std::string square_name(int sq);              // 37 -> "f5"
int parse_square(std::string_view s);         // "f5"/"F5" -> 37; -1 if not a square
bool is_centre(int sq);                       // d4 e4 d5 e5: never a move

// Token ids (Li et al. / TransformerLens): 0 = padding, 1..60 = the 60 non-centre squares in
// increasing square order. TransformerLens's label strings put the row letter first
// ("A0".."H7" = row letter A..H for rows 0..7, then the column digit 0..7), so our "f5"
// (row 4, col 5) is their "E5"; see tl_label(). Examples (token: ours = theirs):
//   1: a1 = A0    8: h1 = A7    27: c4 = D2    28: f4 = D5    33: c5 = E2    34: f5 = E5
//   60: h8 = H7   (d4 e4 d5 e5 = D3 D4 E3 E4 have no token)
int square_to_token(int sq);                  // -1 for a centre square
int token_to_square(int tok);                 // -1 for 0 (padding) or out of range
std::string tl_label(int sq);                 // 37 -> "E5"

std::string board_to_string(const Board& b, Bitboard marks = 0);  // ASCII diagram, '*' = mark

// Small helpers for callers (data generator, labels, interventions).
inline Bitboard square_bit(int sq) { return Bitboard{1} << sq; }  // sq in 0..63
// Writes the squares of the set bits of bb in increasing order to out (room for 64) and
// returns how many; e.g. get_moves_list(get_moves(b), list).
int get_moves_list(Bitboard bb, int* out);
// Iterates the squares of a bitboard: for (int sq : squares_of(get_moves(b))) ...
struct SquareIter {
  Bitboard rest;
  int operator*() const { return std::countr_zero(rest); }
  SquareIter& operator++() { rest &= rest - 1; return *this; }
  bool operator!=(const SquareIter& o) const { return rest != o.rest; }
};
struct SquaresOf {
  Bitboard bb;
  SquareIter begin() const { return {bb}; }
  SquareIter end() const { return {0}; }
};
inline SquaresOf squares_of(Bitboard bb) { return {bb}; }

// Disc counts and the winner by discs (empty squares are not awarded to anyone).
enum class Outcome : uint8_t { black_wins, white_wins, draw };
struct Score {
  int black = 0, white = 0;
  Outcome outcome() const {
    return black > white ? Outcome::black_wins : white > black ? Outcome::white_wins : Outcome::draw;
  }
};
Score get_score(const Board& b);
const char* outcome_name(Outcome o);  // "black" / "white" / "draw"

}  // namespace ogpt::othello
