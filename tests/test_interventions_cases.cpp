// Intervention ground truth from the engine: edited boards and their legal moves on hand-checked
// positions, the top-N error metric, the reachability search and the benchmark case sets.
#include <doctest/doctest.h>

#include <bit>
#include <string>
#include <vector>

#include "data/game.hpp"
#include "interventions/case_file.hpp"
#include "interventions/cases.hpp"
#include "util/error.hpp"
#include "othello/game_record.hpp"

using namespace ogpt::interventions;
using namespace ogpt::othello;

namespace {
Bitboard squares(std::initializer_list<const char*> names) {
  Bitboard b = 0;
  for (const char* n : names) b |= square_bit(parse_square(n));
  return b;
}
std::string names(Bitboard b) {
  std::string s;
  for (int sq : squares_of(b)) s += (s.empty() ? "" : " ") + square_name(sq);
  return s;
}
}  // namespace

TEST_CASE("interventions ground truth: flip e4 after f5 (hand-checked)") {
  // After f5: black d5 e4 e5 f5, white d4; white to move with d6 f4 f6.
  // Flipping e4 to white ("mine" for white): white d4 e4 against black d5 e5 f5 gives
  // c6 (via d5 to e4), d6 (d5 to d4), e6 (e5 to e4), f6 (e5 to d4), g6 (f5 to e4); f4 is lost.
  const auto g = get_ground_truth(parse_game("f5"), parse_square("e4"), CellState::mine);
  REQUIRE(g.usable);
  CHECK(g.before.to_move == Color::white);
  CHECK(names(g.legal_before) == "f4 d6 f6");
  CHECK(g.after.to_move == Color::white);
  CHECK(g.after.white() == squares({"d4", "e4"}));
  CHECK(g.after.black() == squares({"d5", "e5", "f5"}));
  CHECK(names(g.legal_after) == "c6 d6 e6 f6 g6");
}

TEST_CASE("interventions ground truth: erase f5 after f5, a centre square, and an edit that leaves no move") {
  // Erasing f5 (e5 stays black): white d4 against black d5 e4 e5: f4 (over e4), d6 (over d5)
  // and f6 (over e5), the same set as before the edit.
  const auto g = get_ground_truth(parse_game("f5"), parse_square("f5"), CellState::empty);
  REQUIRE(g.usable);
  CHECK(names(g.legal_after) == "f4 d6 f6");
  CHECK(g.legal_after == g.legal_before);
  CHECK(get_cell_state(g.before, parse_square("f5")) == CellState::theirs);
  CHECK(get_cell_state(g.after, parse_square("f5")) == CellState::empty);
  CHECK(get_cell_state(g.after, parse_square("e5")) == CellState::theirs);
  // Turning white's only disc (d4) black leaves white nothing to flank: flagged, not a case.
  const auto none = get_ground_truth(parse_game("f5"), parse_square("d4"), CellState::theirs);
  CHECK_FALSE(none.usable);
  CHECK(none.legal_after == 0);
  CHECK(none.why_not.find("white") != std::string::npos);
  // Emptying a centre square: no game has one, so no probe learned it: refused, naming the square.
  const auto centre = get_ground_truth(parse_game("f5 d6"), parse_square("e4"), CellState::empty);
  CHECK_FALSE(centre.usable);
  CHECK(centre.why_not.find("e4 is a centre square") == 0);
  CHECK(get_ground_truth(parse_game("f5 d6"), parse_square("e4"), CellState::theirs).usable);  // flipping it is fine
}

TEST_CASE("interventions metric: top-N errors are false positives plus false negatives") {
  float probs[64] = {};
  probs[parse_square("c4")] = 0.5f;
  probs[parse_square("d3")] = 0.3f;
  probs[parse_square("f5")] = 0.15f;
  probs[parse_square("e6")] = 0.05f;
  CHECK(top_n_squares(probs, 2) == squares({"c4", "d3"}));
  CHECK(top_n_errors(probs, squares({"c4", "d3"})) == 0);
  CHECK(top_n_errors(probs, squares({"c4", "e6"})) == 2);        // d3 extra, e6 missed
  CHECK(top_n_errors(probs, squares({"a1", "h8", "e6"})) == 6);  // top-3 c4 d3 f5 all wrong
  CHECK(count_errors(squares({"c4"}), squares({"c4", "d3"})) == 1);
  // Ties go to the lower square; centre squares are never predicted.
  float flat[64];
  for (float& p : flat) p = 1.0f / 60;
  CHECK(top_n_squares(flat, 2) == squares({"a1", "b1"}));
  CHECK((top_n_squares(flat, 60) & squares({"d4", "e4", "d5", "e5"})) == 0);
}

TEST_CASE("interventions reachability: witnesses replay, impossible boards are refuted") {
  // A real position is reachable, and the witness is a legal game ending on the same discs.
  const std::vector<int> game = parse_game("f5 d6 c3 d3 c4 f4 f6 f3 e6 e7");
  const Board b = board_after(game);
  std::vector<int> witness;
  REQUIRE(classify_reachability(b, 100000, &witness) == Reach::reachable);
  const Board w = replay(witness).back();
  CHECK(w.black() == b.black());
  CHECK(w.white() == b.white());
  // After one move black always has 4 discs and white 1: 3 black + 2 white is impossible, and
  // the search proves it (exhausts) rather than giving up.
  const auto flip = get_ground_truth(parse_game("f5"), parse_square("e4"), CellState::mine);
  CHECK(classify_reachability(flip.after, 100000) == Reach::unreachable);
  // An empty centre square can never happen.
  const auto erase = get_ground_truth(game, parse_square("d4"), CellState::empty);
  CHECK(classify_reachability(erase.after, 100000) == Reach::unreachable);
  // A tiny budget on a long game gives up honestly.
  const ogpt::data::Game rg = ogpt::data::random_game(1, 0);
  REQUIRE(rg.length >= 40);
  const Board late = board_after(std::vector<int>(rg.moves.begin(), rg.moves.begin() + 40));
  int cell = 0;
  while (is_centre(cell) || get_cell_state(late, cell) == CellState::empty) ++cell;
  CHECK(classify_reachability(edit_board(late, cell, CellState::empty), 50) == Reach::unknown);
}

TEST_CASE("interventions ground truth: an edit that gives the player who just passed a move is not testable") {
  // After this prefix black has no move and white, who played c1, moves again (a forced pass).
  const auto moves = parse_game("d3 c3 b3 b2 f5 a3 a1 c1");
  const auto boards = ogpt::othello::replay(moves);
  REQUIRE(boards[boards.size() - 2].to_move == boards.back().to_move);
  REQUIRE(ogpt::othello::get_moves(ogpt::othello::board_pass(boards.back())) == 0);
  // b3 turned black (theirs, white to move) gives black b1: by the rules black would move next,
  // so white's legal moves are not the truth to score the edit against.
  const auto g = get_ground_truth(moves, parse_square("b3"), CellState::theirs);
  CHECK_FALSE(g.usable);
  CHECK(g.why_not.find("pass by black") != std::string::npos);
  CHECK(g.why_not.find("black would move next") != std::string::npos);
  // edits that leave black without a move keep white to move and stay testable
  int usable = 0, passer_moves = 0;
  for (int cell = 0; cell < 64; ++cell)
    for (CellState t : {CellState::empty, CellState::mine, CellState::theirs}) {
      if (ogpt::othello::is_centre(cell) || get_cell_state(boards.back(), cell) == t) continue;
      const auto e = get_ground_truth(moves, cell, t);
      const bool gives_black_a_move = ogpt::othello::get_moves(ogpt::othello::board_pass(e.after)) != 0;
      passer_moves += gives_black_a_move;
      if (e.legal_after != 0) CHECK(e.usable == !gives_black_a_move);
      usable += e.usable;
    }
  CHECK(usable > 0);
  CHECK(passer_moves > 0);
}

TEST_CASE("interventions case sets: reproducible by seed, usable, legality-changing, labelled") {
  CaseOptions opt;
  opt.seed = 3;
  opt.per_set = 12;
  opt.max_nodes = 3000;
  for (CaseKind kind : {CaseKind::flip, CaseKind::erase}) {
    CAPTURE(case_kind_name(kind));
    const auto a = make_cases(kind, opt), b = make_cases(kind, opt);
    REQUIRE(a.size() == 24);
    REQUIRE(b.size() == a.size());
    int differ = 0;
    opt.seed = 4;
    const auto c = make_cases(kind, opt);
    opt.seed = 3;
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].moves == b[i].moves);
      CHECK(a[i].cell == b[i].cell);
      differ += a[i].moves != c[i].moves;
      CHECK(a[i].kind == kind);
      CHECK(a[i].set == (i < 12 ? CaseSet::reachable : CaseSet::unreachable));
      const Board before = board_after(a[i].moves);
      const CellState now = get_cell_state(before, a[i].cell);
      CHECK(now != CellState::empty);
      if (kind == CaseKind::erase) CHECK(a[i].target == CellState::empty);
      if (kind == CaseKind::erase) CHECK_FALSE(is_centre(a[i].cell));
      else CHECK(a[i].target == (now == CellState::mine ? CellState::theirs : CellState::mine));
      const auto g = get_ground_truth(a[i].moves, a[i].cell, a[i].target);
      CHECK(g.usable);
      CHECK(g.legal_after != g.legal_before);
      std::vector<int> w;
      const Reach reach = classify_reachability(g.after, opt.max_nodes, &w, &a[i].moves);
      if (a[i].set == CaseSet::reachable) {
        REQUIRE(reach == Reach::reachable);
        CHECK(a[i].proven);
        CHECK(replay(w).back().black() == g.after.black());
      } else {
        // the same search (same budget and guide) found no game; `proven` says it was exhausted
        CHECK(reach != Reach::reachable);
        CHECK(a[i].proven == (reach == Reach::unreachable));
      }
    }
    CHECK(differ > 0);
  }
}

TEST_CASE("interventions case files: round trip and refusals with byte offsets") {
  CaseOptions opt;
  opt.seed = 5;
  opt.per_set = 4;
  opt.max_nodes = 2000;
  const auto cases = make_cases(CaseKind::erase, opt);
  const std::string bytes = cases_to_bytes(cases);
  const auto back = cases_from_bytes(bytes, "t.cases");
  REQUIRE(back.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    CHECK(back[i].moves == cases[i].moves);
    CHECK(back[i].cell == cases[i].cell);
    CHECK(back[i].target == cases[i].target);
    CHECK(back[i].kind == cases[i].kind);
    CHECK(back[i].set == cases[i].set);
    CHECK(back[i].proven == cases[i].proven);
  }
  auto refusal = [](const std::string& b) {
    try {
      cases_from_bytes(b, "t.cases");
    } catch (const ogpt::UserError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refusal(bytes.substr(0, 10)).find("too short") != std::string::npos);
  std::string bad = bytes;
  bad[0] = 'X';
  CHECK(refusal(bad).find("bad magic") != std::string::npos);
  bad = bytes;
  bad[8] = 9;
  CHECK(refusal(bad).find("version 9") != std::string::npos);
  bad = bytes;
  bad[bytes.size() - 1] ^= 1;
  CHECK(refusal(bad).find("checksum") != std::string::npos);
  CHECK(refusal(bytes.substr(0, bytes.size() - 1)).find("payload length") != std::string::npos);
  // A well-formed file whose game prefix is illegal: a1 is never a first move.
  std::vector<EditCase> illegal = {EditCase{{0}, 27, CellState::empty}};
  CHECK(refusal(cases_to_bytes(illegal)).find("case 0") != std::string::npos);
  CHECK(refusal(cases_to_bytes(illegal)).find("t.cases: ") == 0);
}
