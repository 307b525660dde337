// othello-gpt show --moves "f5 d6 c3": the board, side to move, legal moves, disc count.
// (A minimal version; the engine issue extends it with game-record parsing errors.)
#include <cstdio>

#include "cli/registry.hpp"
#include "othello/board.hpp"

namespace {
ogpt::cli::Command reg("show", "Print the board after a sequence of moves", [](CLI::App& sub) {
  auto moves = std::make_shared<std::string>();
  sub.add_option("--moves", *moves, "Moves in standard notation, e.g. \"f5 d6 c3\"");
  return [moves]() -> int {
    using namespace ogpt::othello;
    Board b = board_start();
    std::printf("%s", board_to_string(b, get_moves(b)).c_str());
    return 0;
  };
});
}  // namespace
