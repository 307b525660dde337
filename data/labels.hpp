#pragma once
// Per-position labels computed by the engine, for probes and evaluation. Position t = the board
// after move t has been played (what the model's residual stream at token t should encode).
#include <cstdint>

#include "data/game.hpp"
#include "othello/board.hpp"

namespace ogpt::data {

// Cell classes. Black/white basis: 0 empty, 1 black, 2 white.
// Mine/theirs basis (relative to the player to move NEXT, after any pass): 0 empty, 1 mine, 2 theirs.
enum : uint8_t { kEmpty = 0, kBlack = 1, kWhite = 2, kMine = 1, kTheirs = 2 };

struct PositionLabels {
  uint8_t black_white[64];
  uint8_t mine_theirs[64];
  uint64_t legal = 0;       // legal moves of the player to move next (0 at game over)
  uint64_t flipped = 0;     // discs flipped by move t
  uint64_t empty = 0;       // empty squares after move t
  othello::Color to_move = othello::Color::black;  // player to move next (after any pass)
  bool game_over = false;
};

// Fills out[0 .. g.length-1]. Correct across passes (the player to move is found by the rules,
// never by move parity). After the last move of a finished game (game_over), to_move is the
// opponent of the last mover and mine_theirs is relative to that player; legal is 0.
// Throws UserError naming the move if g is not a legal game.
void label_game(const Game& g, PositionLabels* out);

}  // namespace ogpt::data
