// Perft from the start against the published tables (Bik; OEIS A124004) and against the
// reference engine's slow perft.
#include <doctest/doctest.h>

#include <cstdint>

#include "othello/perft.hpp"

using namespace ogpt::othello;

namespace {
// Leaves at depths 1..11, copied from the issue: Aart Bik's perft (a game that ended early
// counts as a leaf) and OEIS A124004 (it does not). They differ from depth 10 on.
constexpr uint64_t kBik[] = {4,       12,       56,         244,        1396,     8200,
                             55092,   390216,   3005288,    24571284,   212258800};
constexpr uint64_t kOeis10 = 24571056, kOeis11 = 212258216;

uint64_t expected(int depth, PerftMode mode) {
  if (mode == PerftMode::oeis && depth == 10) return kOeis10;
  if (mode == PerftMode::oeis && depth == 11) return kOeis11;
  return kBik[depth - 1];
}
}  // namespace

TEST_CASE("othello perft: depths 1..10 from the start, both conventions") {
  for (PerftMode mode : {PerftMode::bik, PerftMode::oeis})
    for (int depth = 1; depth <= 10; ++depth) {
      CAPTURE(depth);
      CAPTURE(perft_mode_name(mode));
      CHECK(perft(board_start(), depth, mode) == expected(depth, mode));
    }
  CHECK(perft(board_start(), 0) == 1);
}

TEST_CASE("othello perft: the reference engine agrees at depths 1..6") {
  for (PerftMode mode : {PerftMode::bik, PerftMode::oeis})
    for (int depth = 1; depth <= 6; ++depth) {
      CAPTURE(depth);
      uint64_t slow = perft_reference(board_start(), depth, mode);
      CHECK(slow == expected(depth, mode));
      CHECK(perft(board_start(), depth, mode) == slow);
    }
}

TEST_CASE("othello perft: frontier pieces sum to the whole count") {
  for (int plies : {0, 1, 3, 5}) {
    uint64_t ended = 0;
    auto pieces = perft_frontier(board_start(), plies, &ended);
    uint64_t bik = ended, oeis = 0;
    for (const Board& b : pieces) {
      bik += perft(b, 10 - plies, PerftMode::bik);
      oeis += perft(b, 10 - plies, PerftMode::oeis);
    }
    CAPTURE(plies);
    CHECK(bik == kBik[9]);
    CHECK(oeis == kOeis10);
    CHECK(ended == 0);  // no game ends within 5 plies
  }
  // 9 plies down the first games have ended: those positions are exactly what separates the
  // two conventions at depth 10.
  uint64_t ended = 0;
  auto pieces = perft_frontier(board_start(), 9, &ended);
  CHECK(pieces.size() == kBik[8]);
  CHECK(ended == 0);
  uint64_t over = 0;
  for (const Board& b : pieces) over += is_game_over(b);
  CHECK(over == kBik[9] - kOeis10);
}

TEST_CASE("othello perft: mode names") {
  CHECK(parse_perft_mode("bik") == PerftMode::bik);
  CHECK(parse_perft_mode("oeis") == PerftMode::oeis);
  CHECK_THROWS(parse_perft_mode("OEIS2"));
}
