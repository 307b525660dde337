#pragma once
// Game records in standard notation: "f5d6c3d3", "f5 d6 c3", upper or lower case. Passes are
// implicit (a side with no legal move passes); an explicit "pass", "ps" or "--" is accepted
// where a pass is forced. Every record is replayed and validated.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "othello/board.hpp"

namespace ogpt::othello {

// Parses and replays a record; returns the squares played (no passes). Separators: spaces,
// tabs, newlines, commas, or none. Throws UserError whose message names the move number
// (1-based position in the record, an explicit pass counting as one), the square and why: "move 7 (c3): square occupied",
// "... flips nothing", "... not a square", "... game already over", "... pass but c4 is legal".
std::vector<int> parse_game(std::string_view text);

// "f5d6c3" (or "f5 d6 c3" with spaces = true).
std::string format_game(const int* squares, int n, bool spaces = false);
std::string format_game(const std::vector<int>& squares, bool spaces = false);

// Replays squares from the start, applying implicit passes. boards[i] is the position before
// move i (with the side to move being the one that plays move i); boards[n] is the final one,
// after a forced pass if there is one (so its side to move is the one to play next, unless the
// game is over).
// Throws UserError (as parse_game) if a move is illegal.
std::vector<Board> replay(const std::vector<int>& squares);

}  // namespace ogpt::othello
