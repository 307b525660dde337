// othello-gpt show --moves "f5 d6 c3" [--json]: the board after a game record (X black,
// O white, * legal), the side to move, the legal moves and the disc count. A bad record is
// refused with parse_game's one-line message (exit code 3).
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/registry.hpp"
#include "othello/board.hpp"
#include "othello/game_record.hpp"
#include "util/json_text.hpp"

namespace {
ogpt::cli::Command reg("show", "Print the board after a sequence of moves", [](CLI::App& sub) {
  auto moves = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  sub.add_option("--moves", *moves, "Moves in standard notation, e.g. \"f5 d6 c3\" or f5d6c3");
  sub.add_flag("--json", *json, "Print JSON instead of the diagram");
  return [moves, json]() -> int {
    using namespace ogpt::othello;
    std::vector<int> squares = parse_game(*moves);
    Board b = replay(squares).back();
    Bitboard legal = get_moves(b);
    bool over = is_game_over(b);
    Score score = get_score(b);
    std::vector<std::string> legal_names;
    for (int sq : squares_of(legal)) legal_names.push_back(square_name(sq));
    if (*json) {
      nlohmann::json j;
      j["moves"] = nlohmann::json::array();
      for (int sq : squares) j["moves"].push_back(square_name(sq));
      j["to_move"] = color_name(b.to_move);
      j["legal"] = legal_names;
      j["black"] = score.black;
      j["white"] = score.white;
      j["game_over"] = over;
      // Row strings without the '*' marks: rows 1..8 top to bottom, columns a..h.
      std::vector<std::string> rows;
      for (int r = 0; r < 8; ++r) {
        std::string row;
        for (int c = 0; c < 8; ++c) {
          int sq = square(r, c);
          row += (b.black() >> sq & 1) ? 'X' : (b.white() >> sq & 1) ? 'O' : '.';
        }
        rows.push_back(row);
      }
      j["board"] = rows;
      std::printf("%s\n", ogpt::util::json_text(j).c_str());
      return 0;
    }
    std::printf("%s", board_to_string(b, legal).c_str());
    if (over) {
      std::printf("game over: %s\n", score.outcome() == Outcome::draw
                                         ? "draw"
                                         : (std::string(outcome_name(score.outcome())) + " wins").c_str());
    } else {
      std::string list;
      for (auto& s : legal_names) {
        if (!list.empty()) list += ' ';
        list += s;
      }
      std::printf("to move: %s (%s)\nlegal: %s\n", color_name(b.to_move),
                  b.to_move == Color::black ? "X" : "O", list.c_str());
    }
    std::printf("discs: black %d, white %d\n", score.black, score.white);
    return 0;
  };
});
}  // namespace
