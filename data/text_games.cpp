// Text game lists: standard notation, one game per line, validated by the engine on the way in.
#include "data/text_games.hpp"

#include "othello/board.hpp"
#include "othello/game_record.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace ogpt::data {

std::string game_to_text(const Game& g, bool spaces) {
  std::string s;
  s.reserve(g.length * 3);
  for (int t = 0; t < g.length; ++t) {
    if (spaces && t > 0) s += ' ';
    s += othello::square_name(g.moves[t]);
  }
  return s;
}

Game game_from_squares(const std::vector<int>& squares) {
  if (squares.size() > 60) throw UserError("a game has at most 60 moves, got " + std::to_string(squares.size()));
  Game g;
  g.length = static_cast<uint8_t>(squares.size());
  for (size_t i = 0; i < squares.size(); ++i) g.moves[i] = static_cast<uint8_t>(squares[i]);
  return g;
}

TextGames parse_text_games(std::string_view text, const std::string& name, bool skip_bad) {
  TextGames out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++out.lines;
    // Blank = white space of any kind (a stray \v or \f too); a line of separators is not blank.
    constexpr std::string_view kBlank = " \t\r\v\f";
    while (!line.empty() && kBlank.find(line.back()) != std::string_view::npos) line.remove_suffix(1);
    size_t first = line.find_first_not_of(kBlank);
    if (first == std::string_view::npos || line[first] == '#') continue;
    try {
      std::vector<int> squares = othello::parse_game(line);
      // A line of separators alone (", ,") holds no move: refused, not a game of 0.
      if (squares.empty()) throw UserError("no moves");
      out.games.push_back(game_from_squares(squares));
    } catch (const UserError& e) {
      std::string msg = name + ": line " + std::to_string(out.lines) + ": " + e.what();
      if (!skip_bad) throw UserError(msg);
      out.rejected.push_back({out.lines, msg});
    }
  }
  return out;
}

TextGames read_text_games(const std::string& path, bool skip_bad) {
  return parse_text_games(util::read_file(path), path, skip_bad);
}

}  // namespace ogpt::data
