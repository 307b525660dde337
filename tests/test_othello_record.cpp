// Game records: parsing in every accepted spelling, refusals with their messages, format_game
// and replay round trips on random games (with passes).
#include <doctest/doctest.h>

#include <string>

#include "othello/game_record.hpp"
#include "othello/reference.hpp"
#include "util/error.hpp"

using namespace ogpt::othello;

namespace {
std::string refusal(const std::string& record) {
  try {
    parse_game(record);
  } catch (const ogpt::UserError& e) {
    CHECK(e.code == ogpt::kBadInput);
    return e.what();
  }
  return "(accepted)";
}

// A random game (passes implicit) from a tiny LCG; `with_pass` asks for one containing a pass.
std::vector<int> random_game(uint64_t seed, bool* had_pass) {
  std::vector<int> squares;
  Board b = board_start();
  *had_pass = false;
  while (true) {
    Bitboard moves = get_moves(b);
    if (moves == 0) {
      if (is_game_over(b)) return squares;
      b = board_pass(b);
      *had_pass = true;
      continue;
    }
    int list[64];
    int n = get_moves_list(moves, list);
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    int sq = list[(seed >> 33) % static_cast<uint64_t>(n)];
    squares.push_back(sq);
    b = board_next(b, sq);
  }
}

// The same game with an explicit pass token where each forced pass happens.
std::string with_explicit_passes(const std::vector<int>& squares, const char* token) {
  std::string s;
  Board b = board_start();
  for (int sq : squares) {
    if (!can_move(b)) {
      s += std::string(token) + " ";
      b = board_pass(b);
    }
    s += square_name(sq) + " ";
    b = board_next(b, sq);
  }
  return s;
}
}  // namespace

TEST_CASE("othello record: accepted spellings") {
  std::vector<int> want = {37, 43, 18, 19};  // f5 d6 c3 d3
  CHECK(parse_game("f5d6c3d3") == want);
  CHECK(parse_game("f5 d6 c3 d3") == want);
  CHECK(parse_game("F5D6C3D3") == want);
  CHECK(parse_game("  f5\td6\nC3, d3 ") == want);
  CHECK(parse_game("").empty());
  CHECK(parse_game("   ").empty());
  CHECK(format_game(want) == "f5d6c3d3");
  CHECK(format_game(want, true) == "f5 d6 c3 d3");
  CHECK(format_game(want.data(), 2) == "f5d6");
}

TEST_CASE("othello record: refusals name the move, the square and why") {
  CHECK(refusal("f5 f5") == "move 2 (f5): square occupied");
  CHECK(refusal("d4") == "move 1 (d4): square occupied");
  CHECK(refusal("f5 a1") == "move 2 (a1): flips nothing");
  CHECK(refusal("f5 z9") == "move 2 (z9): not a square");
  CHECK(refusal("f5d6c") == "move 3 (c): not a square");
  CHECK(refusal("f5 d6 i3") == "move 3 (i3): not a square");
  CHECK(refusal("f5 d0") == "move 2 (d0): not a square");
  CHECK(refusal("pass") == "move 1 (pass): pass but d3 c4 f5 e6 are legal");
  CHECK(refusal("f5 --") == "move 2 (pass): pass but f4 d6 f6 are legal");
  // The shortest games end after 9 moves with one colour wiped out.
  const char* shortest = "d3 c3 b3 d2 e1 d6 d7 e3 f4";
  auto squares = parse_game(shortest);
  CHECK(squares.size() == 9);
  Board end = replay(squares).back();
  CHECK(is_game_over(end));
  CHECK(reference::get_moves(end) == 0);
  CHECK(reference::get_moves(board_pass(end)) == 0);
  CHECK(get_score(end).black == 13);
  CHECK(get_score(end).white == 0);
  CHECK(refusal(std::string(shortest) + " a1") == "move 10 (a1): game already over");
  CHECK(refusal(std::string(shortest) + " pass") == "move 10 (pass): game already over");
}

TEST_CASE("othello record: random games round-trip, passes implicit or explicit") {
  int with_pass = 0;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    bool had_pass = false;
    std::vector<int> game = random_game(seed, &had_pass);
    CAPTURE(format_game(game, true));
    REQUIRE(parse_game(format_game(game)) == game);
    REQUIRE(parse_game(format_game(game, true)) == game);
    std::vector<Board> boards = replay(game);
    REQUIRE(boards.size() == game.size() + 1);
    for (size_t i = 0; i < game.size(); ++i) {
      // boards[i] is the position where move i is played, by its side to move.
      REQUIRE(reference::get_flips(boards[i], game[i]) != 0);
      // boards[i + 1] follows from it, after a forced pass if there was one.
      Board next = reference::board_next(boards[i], game[i]);
      if (reference::get_moves(next) == 0 && reference::get_moves(board_pass(next)) != 0)
        next = board_pass(next);
      REQUIRE(boards[i + 1] == next);
    }
    CHECK(is_game_over(boards.back()));
    if (had_pass) {
      ++with_pass;
      CHECK(parse_game(with_explicit_passes(game, "pass")) == game);
      CHECK(parse_game(with_explicit_passes(game, "PS")) == game);
      CHECK(parse_game(with_explicit_passes(game, "--")) == game);
    }
  }
  CHECK(with_pass > 0);  // the sample did contain games with a pass
}

TEST_CASE("othello record: replay refuses illegal sequences and passes at the end") {
  CHECK_THROWS_AS(replay({37, 37}), ogpt::UserError);
  CHECK_THROWS_AS(replay({64}), ogpt::UserError);
  CHECK_THROWS_WITH(replay({37, 0}), "move 2 (a1): flips nothing");
  auto boards = replay({});
  REQUIRE(boards.size() == 1);
  CHECK(boards[0] == board_start());
  auto b2 = replay({37, 43});
  CHECK(b2[1].to_move == Color::white);
  CHECK(b2[2].to_move == Color::black);
}
