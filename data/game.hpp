#pragma once
// A game as the squares played, passes implicit (Li et al.'s format: no pass token).
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ogpt::data {

struct Game {
  uint8_t length = 0;                 // number of moves played, <= 60
  std::array<uint8_t, 60> moves{};    // squares 0..63 (row*8+col), first `length` valid
};

// One uniformly random legal game (at each step a uniformly random legal move, passes implicit,
// until neither side can move), fully determined by (seed, index): game i of a stream does not
// depend on how many threads made it or on where a resumed run starts.
Game random_game(uint64_t seed, uint64_t index);
// Games index first .. first+n-1 of the stream `seed`, in parallel; same result for any thread count.
void generate_games(uint64_t seed, uint64_t first, size_t n, Game* out, int threads = 0);

// Model inputs and targets for one game (n_ctx = 59):
//   tokens[t]  = token of move t          for t < min(length, 59), else 0 (padding)
//   targets[t] = token of move t+1        for t+1 < length,        else 0 (ignored by the loss)
void game_to_tokens(const Game& g, uint8_t* tokens, uint8_t* targets);

// ---- additions (data helper) ---------------------------------------------------------------------
constexpr int kContext = 59;  // n_ctx: a 60-move game gives 59 inputs and 59 next-move targets

// game_to_tokens for B games: tokens, targets are [B, kContext] row-major.
void make_batch(const Game* games, int B, uint8_t* tokens, uint8_t* targets);

// The entropy floor of uniformly random games: a perfect model of the generator predicts the
// next move uniformly over the legal set, so its loss at a position is log(#legal moves).
// entropy_floor(g) sums log(#legal moves for move t+1) over the positions t that have a target
// (t + 1 < length); divide by n_targets(g) for a per-move figure. Throws UserError if g is illegal.
double entropy_floor(const Game& g);
int n_targets(const Game& g);  // positions with a target: max(length - 1, 0) (<= 59)

// The legal-move target of each position: sets[t] has bit v set iff token v is a legal move for
// move t+1 (the player who actually moves next, after a forced pass), for t + 1 < length; else 0.
// The uniform distribution over sets[t] is the expected next token of a random game, i.e. the
// expected one-hot target (model: GPT::forward's target_sets). Returns entropy_floor(g), which
// the same replay gives for free. Throws UserError if g is illegal.
double game_to_legal_sets(const Game& g, uint64_t* sets);

}  // namespace ogpt::data
