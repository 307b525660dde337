#include "othello/board.hpp"

#include <bit>

#include "othello/kernels.hpp"

namespace ogpt::othello {

const char* color_name(Color c) { return c == Color::black ? "black" : "white"; }

Board board_start() {
  return board_from_colors((1ull << 35) | (1ull << 28), (1ull << 27) | (1ull << 36), Color::black);
}

Board board_from_colors(Bitboard black, Bitboard white, Color to_move) {
  Board b;
  b.to_move = to_move;
  b.player = to_move == Color::black ? black : white;
  b.opponent = to_move == Color::black ? white : black;
  return b;
}

// The kernels live in kernels.hpp (inline, shared with perft); these wrappers pick the variant
// that bench/bench_engine.cpp measured fastest on this machine.
Bitboard get_moves(const Board& b) { return kernels::get_moves_fast(b.player, b.opponent); }

Bitboard get_flips(const Board& b, int sq) {
  if (sq < 0 || sq > 63 || ((b.player | b.opponent) >> sq & 1)) return 0;
  return kernels::get_flips_fast(b.player, b.opponent, sq);
}

Board board_next(const Board& b, int sq) {
  Bitboard f = kernels::get_flips_fast(b.player, b.opponent, sq);
  return Board{b.opponent & ~f, b.player | f | square_bit(sq), other(b.to_move)};
}

Board board_pass(const Board& b) { return Board{b.opponent, b.player, other(b.to_move)}; }

bool can_move(const Board& b) { return get_moves(b) != 0; }

bool is_game_over(const Board& b) { return !can_move(b) && !can_move(board_pass(b)); }

int count_discs(Bitboard bb) { return std::popcount(bb); }

int get_moves_list(Bitboard bb, int* out) {
  int n = 0;
  for (; bb; bb &= bb - 1) out[n++] = std::countr_zero(bb);
  return n;
}

Score get_score(const Board& b) { return Score{count_discs(b.black()), count_discs(b.white())}; }

const char* outcome_name(Outcome o) {
  return o == Outcome::black_wins ? "black" : o == Outcome::white_wins ? "white" : "draw";
}

std::string square_name(int sq) {
  if (sq < 0 || sq > 63) return "??";
  return std::string{static_cast<char>('a' + sq % 8), static_cast<char>('1' + sq / 8)};
}

int parse_square(std::string_view s) {
  if (s.size() != 2) return -1;
  char c = s[0], r = s[1];
  if (c >= 'A' && c <= 'H') c = static_cast<char>(c - 'A' + 'a');
  if (c < 'a' || c > 'h' || r < '1' || r > '8') return -1;
  return (r - '1') * 8 + (c - 'a');
}

bool is_centre(int sq) { return sq == 27 || sq == 28 || sq == 35 || sq == 36; }

int square_to_token(int sq) {
  if (sq < 0 || sq > 63 || is_centre(sq)) return -1;
  // Squares below 27 map to themselves + 1; 29..34 skip two centre squares; 37.. skip four.
  if (sq < 27) return sq + 1;
  if (sq < 35) return sq - 1;
  return sq - 3;
}

int token_to_square(int tok) {
  if (tok < 1 || tok > 60) return -1;
  if (tok <= 27) return tok - 1;
  if (tok <= 33) return tok + 1;
  return tok + 3;
}

std::string tl_label(int sq) {
  return std::string{static_cast<char>('A' + sq / 8), static_cast<char>('0' + sq % 8)};
}

std::string board_to_string(const Board& b, Bitboard marks) {
  std::string s = "  a b c d e f g h\n";
  Bitboard blk = b.black(), wht = b.white();
  for (int r = 0; r < 8; ++r) {
    s += static_cast<char>('1' + r);
    for (int c = 0; c < 8; ++c) {
      int sq = r * 8 + c;
      Bitboard m = 1ull << sq;
      s += ' ';
      s += (blk & m) ? 'X' : (wht & m) ? 'O' : (marks & m) ? '*' : '.';
    }
    s += '\n';
  }
  return s;
}

}  // namespace ogpt::othello
