#include "othello/game_record.hpp"

#include <bit>
#include <cctype>

#include "util/error.hpp"

namespace ogpt::othello {

namespace {
[[noreturn]] void refuse(int move_no, const std::string& what, const std::string& why) {
  throw UserError("move " + std::to_string(move_no) + " (" + what + "): " + why);
}

std::string list_squares(Bitboard bb) {
  std::string s;
  for (int sq : squares_of(bb)) {
    if (!s.empty()) s += ' ';
    s += square_name(sq);
  }
  return s;
}

// Plays square sq (move number move_no, 1-based) on b, passing first if the side to move has
// no legal move. Throws UserError naming the move and why it is illegal.
void play(Board& b, int sq, int move_no, const std::string& what) {
  if (sq < 0 || sq > 63) refuse(move_no, what, "not a square");
  Bitboard moves = get_moves(b);
  if (moves == 0) {
    Board passed = board_pass(b);
    moves = get_moves(passed);
    if (moves == 0) refuse(move_no, what, "game already over");
    b = passed;  // implicit forced pass
  }
  if (((b.player | b.opponent) >> sq) & 1) refuse(move_no, what, "square occupied");
  if (!((moves >> sq) & 1)) refuse(move_no, what, "flips nothing");
  b = board_next(b, sq);
}

bool starts_with_nocase(std::string_view s, std::string_view word) {
  if (s.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != word[i]) return false;
  return true;
}

// What the user typed, for messages: printable characters only.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return out;
}
}  // namespace

std::vector<int> parse_game(std::string_view text) {
  std::vector<int> squares;
  Board b = board_start();
  int move_no = 0;
  size_t i = 0;
  while (true) {
    while (i < text.size() && (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ','))
      ++i;
    if (i >= text.size()) break;
    ++move_no;
    std::string_view rest = text.substr(i);
    size_t pass_len = starts_with_nocase(rest, "pass") ? 4
                      : (starts_with_nocase(rest, "ps") || starts_with_nocase(rest, "--")) ? 2
                                                                                           : 0;
    if (pass_len) {
      // An explicit pass is only valid where it is forced.
      i += pass_len;
      Bitboard moves = get_moves(b);
      if (moves != 0)
        refuse(move_no, "pass", "pass but " + list_squares(moves) +
                                    (std::popcount(moves) == 1 ? " is legal" : " are legal"));
      Board passed = board_pass(b);
      if (get_moves(passed) == 0) refuse(move_no, "pass", "game already over");
      b = passed;
      continue;
    }
    std::string_view tok = rest.substr(0, 2);
    i += tok.size();
    int sq = parse_square(tok);
    play(b, sq, move_no, shown(tok));
    squares.push_back(sq);
  }
  return squares;
}

std::string format_game(const int* squares, int n, bool spaces) {
  std::string s;
  for (int k = 0; k < n; ++k) {
    if (spaces && k > 0) s += ' ';
    s += square_name(squares[k]);
  }
  return s;
}

std::string format_game(const std::vector<int>& squares, bool spaces) {
  return format_game(squares.data(), static_cast<int>(squares.size()), spaces);
}

std::vector<Board> replay(const std::vector<int>& squares) {
  std::vector<Board> boards;
  boards.reserve(squares.size() + 1);
  Board b = board_start();
  for (size_t k = 0; k < squares.size(); ++k) {
    int sq = squares[k];
    // A forced pass before move k belongs to boards[k]: the side to move there plays move k.
    if (!can_move(b) && can_move(board_pass(b))) b = board_pass(b);
    boards.push_back(b);
    play(b, sq, static_cast<int>(k) + 1, sq >= 0 && sq < 64 ? square_name(sq) : std::to_string(sq));
  }
  // The final position, after any forced pass, so its side to move is the one to play next.
  if (!can_move(b) && can_move(board_pass(b))) b = board_pass(b);
  boards.push_back(b);
  return boards;
}

}  // namespace ogpt::othello
