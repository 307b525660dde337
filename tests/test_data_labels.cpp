// Labels against an independent slow engine (a 64-cell array, walking the 8 directions), on
// random games that include passes, plus a hand-checked game with a pass.
#include <doctest/doctest.h>

#include <vector>

#include "data/game_file.hpp"
#include "data/generate.hpp"
#include "data/labels.hpp"
#include "othello/board.hpp"
#include "util/error.hpp"

using namespace ogpt::data;
using namespace ogpt::othello;

namespace {
// Cells: 0 empty, 1 black, 2 white (the labels' black/white basis).
struct SlowBoard {
  int cell[64] = {};
  SlowBoard() {
    cell[27] = cell[36] = 2;  // d4 e5 white
    cell[28] = cell[35] = 1;  // e4 d5 black
  }
  std::vector<int> flips(int color, int sq) const {
    std::vector<int> out;
    if (cell[sq]) return out;
    int r0 = sq / 8, c0 = sq % 8;
    for (int dr = -1; dr <= 1; ++dr)
      for (int dc = -1; dc <= 1; ++dc) {
        if (!dr && !dc) continue;
        std::vector<int> line;
        int r = r0 + dr, c = c0 + dc;
        while (r >= 0 && r < 8 && c >= 0 && c < 8 && cell[r * 8 + c] == 3 - color) {
          line.push_back(r * 8 + c);
          r += dr;
          c += dc;
        }
        if (!line.empty() && r >= 0 && r < 8 && c >= 0 && c < 8 && cell[r * 8 + c] == color)
          out.insert(out.end(), line.begin(), line.end());
      }
    return out;
  }
  uint64_t legal(int color) const {
    uint64_t m = 0;
    for (int sq = 0; sq < 64; ++sq)
      if (!flips(color, sq).empty()) m |= uint64_t{1} << sq;
    return m;
  }
};

// Labels the slow way; also counts positions where the next player is the mover (a pass).
std::vector<PositionLabels> slow_labels(const Game& g, int* passes) {
  std::vector<PositionLabels> out(g.length);
  SlowBoard b;
  int mover = 1;  // black moves first
  for (int t = 0; t < g.length; ++t) {
    if (!b.legal(mover)) mover = 3 - mover;
    auto f = b.flips(mover, g.moves[t]);
    REQUIRE(!f.empty());
    PositionLabels& L = out[t];
    L.flipped = 0;
    for (int s : f) {
      b.cell[s] = mover;
      L.flipped |= uint64_t{1} << s;
    }
    b.cell[g.moves[t]] = mover;
    int next = 3 - mover;
    L.game_over = false;
    if (!b.legal(next)) {
      if (b.legal(mover)) {
        next = mover;
        ++*passes;
      } else {
        L.game_over = true;
      }
    }
    L.to_move = next == 1 ? Color::black : Color::white;
    L.legal = L.game_over ? 0 : b.legal(next);
    L.empty = 0;
    for (int s = 0; s < 64; ++s) {
      L.black_white[s] = static_cast<uint8_t>(b.cell[s]);
      L.mine_theirs[s] = static_cast<uint8_t>(b.cell[s] == 0 ? kEmpty : b.cell[s] == next ? kMine : kTheirs);
      if (!b.cell[s]) L.empty |= uint64_t{1} << s;
    }
    mover = next;
  }
  return out;
}

void check_same(const PositionLabels& a, const PositionLabels& b) {
  REQUIRE(a.legal == b.legal);
  REQUIRE(a.flipped == b.flipped);
  REQUIRE(a.empty == b.empty);
  REQUIRE(a.to_move == b.to_move);
  REQUIRE(a.game_over == b.game_over);
  for (int s = 0; s < 64; ++s) {
    REQUIRE(a.black_white[s] == b.black_white[s]);
    REQUIRE(a.mine_theirs[s] == b.mine_theirs[s]);
  }
}

Game game_of(std::initializer_list<const char*> moves) {
  Game g;
  for (const char* m : moves) g.moves[g.length++] = static_cast<uint8_t>(parse_square(m));
  return g;
}
}  // namespace

TEST_CASE("data: label_game matches a slow independent engine on random games with passes") {
  int passes = 0, games_with_pass = 0;
  for (uint64_t i = 0; i < 400; ++i) {
    Game g = random_game(21, i);
    int before = passes;
    auto slow = slow_labels(g, &passes);
    games_with_pass += passes > before;
    std::vector<PositionLabels> fast(g.length);
    label_game(g, fast.data());
    for (int t = 0; t < g.length; ++t) {
      CAPTURE(i);
      CAPTURE(t);
      check_same(fast[t], slow[t]);
    }
    CHECK(fast[g.length - 1].game_over);
  }
  CHECK(games_with_pass > 20);  // the comparison really covered passes
}

TEST_CASE("data: the generator's pass counter agrees with the slow engine") {
  std::vector<Game> games(300);
  GenerateStats st = generate_games_stats(33, 0, games.size(), games.data(), 1);
  uint64_t with_pass = 0;
  for (const Game& g : games) {
    int passes = 0;
    slow_labels(g, &passes);
    with_pass += passes > 0;
  }
  CHECK(st.games_with_passes == with_pass);
  CHECK(with_pass > 0);
}

TEST_CASE("data: labels across a hand-checked pass") {
  // After d3 c3 b3 b2 f5 a3 a1 c1 (white's c1 flips b2) black has no move and passes:
  //     a b c d e f g h
  //   1 X . O . . . . .
  //   2 . O . . . . . .
  //   3 O O X X . . . .       white to move again: e3 or f6
  //   4 . . . X X . . .
  //   5 . . . X X X . .
  Game g = game_of({"d3", "c3", "b3", "b2", "f5", "a3", "a1", "c1", "f6"});
  std::vector<PositionLabels> L(g.length);
  label_game(g, L.data());
  const PositionLabels& p6 = L[6];  // after black's a1: white to move, no pass
  CHECK(p6.to_move == Color::white);
  CHECK(p6.mine_theirs[parse_square("a1")] == kTheirs);
  const PositionLabels& p = L[7];   // after white's c1
  CHECK(p.to_move == Color::white);  // by the rules, not by parity (move 9 is white's)
  CHECK_FALSE(p.game_over);
  CHECK(p.legal == ((uint64_t{1} << parse_square("e3")) | (uint64_t{1} << parse_square("f6"))));
  CHECK(p.flipped == uint64_t{1} << parse_square("b2"));
  CHECK(__builtin_popcountll(p.empty) == 52);
  CHECK(p.black_white[parse_square("a1")] == kBlack);
  CHECK(p.black_white[parse_square("c1")] == kWhite);
  CHECK(p.black_white[parse_square("b2")] == kWhite);
  CHECK(p.black_white[parse_square("h8")] == kEmpty);
  CHECK(p.mine_theirs[parse_square("c1")] == kMine);   // white's own disc
  CHECK(p.mine_theirs[parse_square("a1")] == kTheirs);
  CHECK(p.mine_theirs[parse_square("d4")] == kTheirs);
  CHECK(L[8].flipped != 0);
  int passes = 0;
  auto slow = slow_labels(g, &passes);
  CHECK(passes == 1);
  for (int t = 0; t < g.length; ++t) check_same(L[t], slow[t]);

  Game bad = game_of({"d3", "a1"});
  CHECK_THROWS_AS(label_game(bad, L.data()), ogpt::UserError);
}
