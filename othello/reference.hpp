#pragma once
// The slow, obvious engine: walks the 8 directions square by square with (row, col) loops.
// It shares nothing with kernels.hpp except the Board struct, so tests comparing the two on
// millions of positions catch bugs in the bit tricks. Never used on a hot path.
#include <cstdint>

#include "othello/board.hpp"

namespace ogpt::othello::reference {

Bitboard get_flips(const Board& b, int sq);  // 0 if sq is occupied or flips nothing
Bitboard get_moves(const Board& b);          // every empty square whose get_flips is non-zero
Board board_next(const Board& b, int sq);    // plays a legal sq

}  // namespace ogpt::othello::reference
