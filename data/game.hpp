#pragma once
// A game as the squares played, passes implicit (Li et al.'s format: no pass token).
#include <array>
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

}  // namespace ogpt::data
