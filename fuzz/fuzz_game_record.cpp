// Fuzzes othello::parse_game (text records such as "f5d6c3" pasted or read from a game list).
// Properties: a record either parses or throws UserError; a parsed record replays, and formatting
// it and parsing again gives the same squares.
#include "fuzz/fuzz_common.hpp"
#include "othello/game_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<int> sq;
  try {
    sq = othello::parse_game(text);
  } catch (const UserError& e) {
    fuzz::check_refusal(e, "");
    return 0;
  }
  fuzz::check(sq.size() <= 60, "more than 60 moves");
  for (int s : sq) fuzz::check(s >= 0 && s < 64, "square out of range");
  auto boards = othello::replay(sq);  // must not throw: parse_game validated the record
  fuzz::check(boards.size() == sq.size() + 1, "replay length");
  fuzz::check(othello::parse_game(othello::format_game(sq)) == sq, "format/parse round trip");
  fuzz::check(othello::parse_game(othello::format_game(sq, true)) == sq, "spaced round trip");
  return 0;
}
