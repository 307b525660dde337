#pragma once
// The synthetic game generator's pieces, exposed so tests can check each against a slow
// reference and the bench can time them.
//
// Randomness is counter-based: game `index` of stream `seed` starts a wyrand generator from
// splitmix64(splitmix64(seed) + index * golden), so a game is a pure function of (seed, index).
// GCC 12's AVX-512 headers trip its own -Wuninitialized (GCC bug 105593); silence it there only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <bit>
#include <cstdint>

#include "data/game.hpp"

namespace ogpt::data {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// wyrand (Wang Yi): one 64x64->128 multiply per output, passes BigCrush/PractRand.
struct GameRng {
  uint64_t state;
  uint32_t next32() {
    state += 0xa0761d6478bd642full;
    __uint128_t m = static_cast<__uint128_t>(state) * (state ^ 0xe7037ed1a0b428dbull);
    return static_cast<uint32_t>((static_cast<uint64_t>(m >> 64) ^ static_cast<uint64_t>(m)) >> 32);
  }
};

inline GameRng game_rng(uint64_t seed, uint64_t index) {
  return GameRng{splitmix64(splitmix64(seed) + index * 0x9e3779b97f4a7c15ull)};
}

// Uniform in [0, n) by multiply-shift (Lemire) without the rejection step: the bias is at most
// n / 2^32 < 2e-8 for n <= 64, far below anything a model could learn.
inline uint32_t random_below(uint32_t r32, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint64_t>(r32) * n) >> 32);
}

// Square of the k-th (0-based) set bit of mask (k < popcount(mask)): BMI2 deposits the bit.
inline int pick_kth_bit(uint64_t mask, int k) {
#ifdef __BMI2__
  return std::countr_zero(_pdep_u64(1ull << k, mask));
#else
  for (int i = 0; i < k; ++i) mask &= mask - 1;
  return std::countr_zero(mask);
#endif
}
// The obvious version: walk the squares counting set bits.
int pick_kth_bit_reference(uint64_t mask, int k);

// Counters over generated games (for the `generate` summary).
struct GenerateStats {
  uint64_t games = 0, moves = 0;
  uint64_t games_with_passes = 0;  // at least one implicit pass before the end
  uint64_t games_short = 0;        // ended (neither side can move) before 60 moves
  void add(const GenerateStats& o) {
    games += o.games; moves += o.moves;
    games_with_passes += o.games_with_passes; games_short += o.games_short;
  }
};

// random_game that also counts passes (n_passes may be null).
Game random_game_counted(uint64_t seed, uint64_t index, int* n_passes);
// The same game through a slow path: pick_kth_bit_reference and an explicit legal-move list.
Game random_game_reference(uint64_t seed, uint64_t index);
// Games first .. first+3 in lockstep in one thread (the generator's inner loop): the same games
// as random_game_counted, about twice the throughput per core.
void random_games_x4(uint64_t seed, uint64_t first, Game* out, int* n_passes);
// generate_games plus counters.
GenerateStats generate_games_stats(uint64_t seed, uint64_t first, size_t n, Game* out,
                                   int threads = 0);

}  // namespace ogpt::data
