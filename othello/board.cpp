#include "othello/board.hpp"

#include <bit>

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

namespace {
// The eight directions as (shift, mask-after-shift). Column a is bit 0 of each row, so a left
// shift by 1 moves towards column h and must not wrap into column a.
constexpr Bitboard kNotA = 0xfefefefefefefefeull;  // every column but a
constexpr Bitboard kNotH = 0x7f7f7f7f7f7f7f7full;  // every column but h

template <int kShift>
inline Bitboard shift(Bitboard b) {
  if constexpr (kShift == 1) return (b << 1) & kNotA;     // east
  if constexpr (kShift == -1) return (b >> 1) & kNotH;    // west
  if constexpr (kShift == 8) return b << 8;               // south
  if constexpr (kShift == -8) return b >> 8;              // north
  if constexpr (kShift == 9) return (b << 9) & kNotA;     // south-east
  if constexpr (kShift == 7) return (b << 7) & kNotH;     // south-west
  if constexpr (kShift == -7) return (b >> 7) & kNotA;    // north-east
  if constexpr (kShift == -9) return (b >> 9) & kNotH;    // north-west
}

template <int kShift>
inline Bitboard moves_dir(Bitboard p, Bitboard o, Bitboard empty) {
  Bitboard x = shift<kShift>(p) & o;
  x |= shift<kShift>(x) & o;
  x |= shift<kShift>(x) & o;
  x |= shift<kShift>(x) & o;
  x |= shift<kShift>(x) & o;
  x |= shift<kShift>(x) & o;
  return shift<kShift>(x) & empty;
}

template <int kShift>
inline Bitboard flips_dir(Bitboard p, Bitboard o, Bitboard m) {
  Bitboard f = 0, x = shift<kShift>(m);
  while (x & o) {
    f |= x;
    x = shift<kShift>(x);
  }
  return (x & p) ? f : 0;
}
}  // namespace

Bitboard get_moves(const Board& b) {
  Bitboard p = b.player, o = b.opponent, e = ~(p | o);
  return moves_dir<1>(p, o, e) | moves_dir<-1>(p, o, e) | moves_dir<8>(p, o, e) |
         moves_dir<-8>(p, o, e) | moves_dir<9>(p, o, e) | moves_dir<7>(p, o, e) |
         moves_dir<-7>(p, o, e) | moves_dir<-9>(p, o, e);
}

Bitboard get_flips(const Board& b, int sq) {
  if (sq < 0 || sq > 63) return 0;
  Bitboard m = 1ull << sq;
  if ((b.player | b.opponent) & m) return 0;
  Bitboard p = b.player, o = b.opponent;
  return flips_dir<1>(p, o, m) | flips_dir<-1>(p, o, m) | flips_dir<8>(p, o, m) |
         flips_dir<-8>(p, o, m) | flips_dir<9>(p, o, m) | flips_dir<7>(p, o, m) |
         flips_dir<-7>(p, o, m) | flips_dir<-9>(p, o, m);
}

Board board_next(const Board& b, int sq) {
  Bitboard f = get_flips(b, sq);
  Board n;
  n.player = b.opponent & ~f;
  n.opponent = b.player | f | (1ull << sq);
  n.to_move = other(b.to_move);
  return n;
}

Board board_pass(const Board& b) { return Board{b.opponent, b.player, other(b.to_move)}; }

bool can_move(const Board& b) { return get_moves(b) != 0; }

bool is_game_over(const Board& b) { return !can_move(b) && !can_move(board_pass(b)); }

int count_discs(Bitboard bb) { return std::popcount(bb); }

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
