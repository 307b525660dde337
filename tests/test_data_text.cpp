// Text game lists: round trip, and bad lines named by line, move, square and reason.
#include <doctest/doctest.h>

#include "data/generate.hpp"
#include "data/text_games.hpp"
#include "othello/board.hpp"
#include "util/error.hpp"

using namespace ogpt;
using namespace ogpt::data;

TEST_CASE("data: text games round trip") {
  std::string text = "# a comment\n\n";
  std::vector<Game> games;
  for (uint64_t i = 0; i < 50; ++i) {
    games.push_back(random_game(17, i));
    text += game_to_text(games.back(), i % 2 == 1) + (i % 3 == 0 ? "\r\n" : "\n");
  }
  CHECK(game_to_text(games[0]).size() == 2u * games[0].length);
  TextGames t = parse_text_games(text, "g.txt");
  CHECK(t.lines == 52);
  REQUIRE(t.games.size() == games.size());
  for (size_t i = 0; i < games.size(); ++i) {
    CHECK(t.games[i].length == games[i].length);
    CHECK(t.games[i].moves == games[i].moves);
  }
  Game g = game_from_squares({37, 43});
  CHECK(game_to_text(g) == "f5d6");
  CHECK(game_to_text(g, true) == "f5 d6");
}

TEST_CASE("data: a bad text line is refused with line, move, square and reason") {
  std::string text = "f5d6c3\nF5 D6 C3 D3\nf5d6c3d3c4f4c5b3c2e3d2c6b4a4 c3\nf5zz\n";
  std::string msg;
  try {
    parse_text_games(text, "g.txt");
  } catch (const UserError& e) {
    msg = e.what();
  }
  CHECK(msg.find("g.txt: line 3: move 15 (c3)") == 0);
  CHECK(msg.find("occupied") != std::string::npos);

  TextGames t = parse_text_games(text, "g.txt", /*skip_bad=*/true);
  CHECK(t.games.size() == 2);
  REQUIRE(t.rejected.size() == 2);
  CHECK(t.rejected[0].line == 3);
  CHECK(t.rejected[1].line == 4);
  CHECK(t.rejected[1].message.find("line 4: move 2") != std::string::npos);
  CHECK(t.games[1].length == 4);
  CHECK(t.games[1].moves[3] == othello::parse_square("d3"));

  // A line of separators only holds no game (blank lines and comments are skipped, not refused).
  t = parse_text_games("f5d6\n\n# note\n , ,\n\vf5\n\v\f \n", "s.txt", /*skip_bad=*/true);
  CHECK(t.games.size() == 2);
  REQUIRE(t.rejected.size() == 1);
  CHECK(t.rejected[0].message == "s.txt: line 4: no moves");
}
