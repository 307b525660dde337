#pragma once
// Perft: the number of leaves of the game tree `depth` plies below a position, the standard
// correctness check (and speed figure) of a move generator. A forced pass counts as a ply.
//   PerftMode::bik  - a game that ends before `depth` counts as one leaf (Aart Bik's tables:
//                     4, 12, 56, 244, 1396, 8200, 55092, 390216, 3005288, 24571284, ...).
//   PerftMode::oeis - only positions exactly `depth` plies deep count (OEIS A124004; differs
//                     from depth 10 on, where the first games have already ended).
#include <cstdint>
#include <string_view>
#include <vector>

#include "othello/board.hpp"

namespace ogpt::othello {

enum class PerftMode : uint8_t { bik, oeis };
const char* perft_mode_name(PerftMode m);    // "bik" / "oeis"
PerftMode parse_perft_mode(std::string_view s);  // throws UserError for anything else

// The fast count: kernels inlined, bulk counting at the last ply (popcount of the moves).
uint64_t perft(const Board& b, int depth, PerftMode mode = PerftMode::bik);
// The slow obvious count: the reference engine, every leaf visited. For small depths in tests.
uint64_t perft_reference(const Board& b, int depth, PerftMode mode = PerftMode::bik);

// The positions exactly `plies` deep (passes are plies), in move order, for splitting a perft
// into independent pieces (progress bars, threads). Games that end before `plies` are not
// returned; *ended gets how many there are (leaves in Bik's convention, whatever the depth).
// perft(b, d) == sum of perft(f, d - plies) over the frontier, + *ended in Bik's mode (d >= plies).
std::vector<Board> perft_frontier(const Board& b, int plies, uint64_t* ended);

}  // namespace ogpt::othello
