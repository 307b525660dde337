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

// Sums over a set of positions, so that slices add up: the whole set is the sum of its move
// numbers. The loss here is computed from the logits in double (cross-entropy of the move played).
struct EvalTally {
  uint64_t positions = 0, hits = 0;
  double loss_sum = 0, floor_sum = 0;
  double legal_top1() const { return positions ? double(hits) / double(positions) : 0.0; }
  double loss() const { return positions ? loss_sum / double(positions) : 0.0; }
  double entropy_floor() const { return positions ? floor_sum / double(positions) : 0.0; }
  double excess_loss() const { return loss() - entropy_floor(); }
  void add(bool hit, double loss, double floor) {
    ++positions;
    hits += hit;
    loss_sum += loss;
    floor_sum += floor;
  }
  void add(const EvalTally& o) {  // the union of two disjoint slices
    positions += o.positions;
    hits += o.hits;
    loss_sum += o.loss_sum;
    floor_sum += o.floor_sum;
  }
};

// Where the model errs. Every scored position is counted once in `all` and once in
// by_moves_seen, and a second time in after_pass when the opponent of the player who just moved
// has no legal move, so the same colour moves again: the one case no token marks (no pass token),
// and rare (0.75% of the positions of random games).
struct EvalBreakdown {
  EvalTally all;
  std::vector<EvalTally> by_moves_seen;  // [k]: positions after k+1 moves (predicting move k+2); sized T
  EvalTally after_pass;
};

struct EvalResult {
  uint64_t games = 0, positions = 0;
  double legal_top1 = 0, loss = 0, entropy_floor = 0, excess_loss = 0;
  EvalBreakdown breakdown;
};

// Legal moves (bitboard) of the player to move after move t, for t = 0 .. g.length-1 (after a
// pass that is the player who just moved; 0 at the end). If opponent_passes is given it is
// resized to g.length and [t] set to 1 where that pass happens. Throws UserError on an illegal move.
std::vector<uint64_t> legal_after_each_move(const data::Game& g, std::vector<uint8_t>* opponent_passes = nullptr);

// Streams games through `gpt` in batches of gpt.max_batch(): add() any number of slices, then
// result() gives the figures over all of them, as if they had been one set, while holding no
// more than one slice (eval of a large file or of --random N never loads it whole).
class Evaluator {
 public:
  explicit Evaluator(GPT& gpt);
  void add(const data::Game* games, size_t n);
  EvalResult result() const;

 private:
  GPT& gpt_;
  EvalBreakdown breakdown_;
  double loss_sum_ = 0;  // the model's own (float) loss, summed over positions
  uint64_t games_ = 0;
  std::vector<uint8_t> tokens_, targets_;
};

// Evaluates `gpt` on games in batches of gpt.max_batch(). progress may be null.
EvalResult evaluate(GPT& gpt, const std::vector<data::Game>& games, util::Progress* progress = nullptr);

// Over one batch with logits [B,T,V] (V = 61, token 0 = padding skipped in the argmax, not in the
// loss): adds every position with a next move to *out (whose by_moves_seen it sizes to T).
void score_batch(EvalBreakdown* out, const float* logits, const data::Game* games, int B, int T, int V);

}  // namespace ogpt::model
