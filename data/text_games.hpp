#pragma once
// Games as text, one per line in standard notation ("f5d6c3..." or "f5 d6 c3 ..."), for
// export, import, and exchange with other tools. Lines that are empty or start with '#' are
// skipped. Every imported line is replayed (othello::parse_game) before it is accepted.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/game.hpp"

namespace ogpt::data {

std::string game_to_text(const Game& g, bool spaces = false);  // "f5d6c3"
Game game_from_squares(const std::vector<int>& squares);        // squares.size() <= 60

struct TextReject {
  uint64_t line = 0;    // 1-based
  std::string message;  // "games.txt: line 12: move 7 (c3): square occupied"
};

struct TextGames {
  std::vector<Game> games;
  std::vector<TextReject> rejected;  // only filled with skip_bad
  uint64_t lines = 0;                // lines read, including skipped blank/comment lines
};

// Parses text (one game per line). A bad line throws UserError naming `name`, the line, the
// move number, the square and the reason, unless skip_bad, which records it and goes on.
TextGames parse_text_games(std::string_view text, const std::string& name, bool skip_bad = false);
TextGames read_text_games(const std::string& path, bool skip_bad = false);

}  // namespace ogpt::data
