#pragma once
// How well a model predicts legal moves, over every position of every game of a set.
//
// Positions: every t with a target (t + 1 < game length), i.e. the model has seen moves 0..t and
// predicts move t+1. At each:
//   legal top-1  the argmax of the logits over the 60 square tokens (padding excluded) is a legal
//                move for the player to move next (Li et al.'s top-1 legal-move rate)
//   loss         cross-entropy of the actual next move (the training loss, over all 61 logits)
//   entropy floor  log(#legal moves): the loss of a perfect model of uniformly random games
//   excess loss  loss - entropy floor (what the model has not yet learned; 0 is perfect)
// All are means over positions (not over games).
#include <cstddef>  // data/game.hpp uses size_t
#include <cstdint>
#include <vector>

#include "data/game.hpp"
#include "model/gpt.hpp"
#include "util/progress.hpp"

namespace ogpt::model {

struct EvalResult {
  uint64_t games = 0, positions = 0;
  double legal_top1 = 0, loss = 0, entropy_floor = 0, excess_loss = 0;
};

// Legal moves (bitboard) of the player to move after move t, for t = 0 .. g.length-1 (after a
// pass that is the player who just moved; 0 at the end). Throws UserError on an illegal move.
std::vector<uint64_t> legal_after_each_move(const data::Game& g);

// Evaluates `gpt` on games in batches of gpt.max_batch(). progress may be null.
EvalResult evaluate(GPT& gpt, const std::vector<data::Game>& games, util::Progress* progress = nullptr);

// Over one batch with logits [B,T,V] (V = 61, token 0 = padding skipped in the argmax): adds the
// number of positions whose top-1 is legal to *hits, the sum of log(#legal) to *floor_sum, and
// the number of positions to *positions.
void score_batch(const float* logits, const data::Game* games, int B, int T, int V, uint64_t* hits,
                 double* floor_sum, uint64_t* positions);

}  // namespace ogpt::model
