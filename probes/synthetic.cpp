// Synthetic activations with a known linear (mine/theirs) and non-linear (black/white) structure.
#include "probes/synthetic.hpp"

#include <random>

namespace ogpt::probes {

SyntheticBoards make_synthetic_boards(size_t N, int d, float noise, uint64_t seed) {
  SyntheticBoards s;
  // The embedding is fixed by the seed; positions are generated in parallel blocks, each with its
  // own generator, so the result does not depend on the thread count.
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  arma::fmat E(d, 192), u(d, 1);
  const float scale = 1.0f / std::sqrt(float(d));  // unit-norm-ish columns
  for (auto& e : E) e = gauss(rng) * scale;
  for (auto& e : u) e = gauss(rng) * scale;
  s.X.set_size(d, N);
  s.mine_theirs.resize(N * 64);
  s.black_white.resize(N * 64);
  s.move.resize(N);
  const size_t block = 4096;
  const size_t n_blocks = (N + block - 1) / block;
#pragma omp parallel for schedule(dynamic)
  for (size_t blk = 0; blk < n_blocks; ++blk) {
    std::mt19937_64 r(seed * 0x9E3779B97F4A7C15ull + blk + 1);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (size_t n = blk * block; n < std::min(N, (blk + 1) * block); ++n) {
      float* x = s.X.colptr(n);
      const bool white = r() & 1;
      for (int i = 0; i < d; ++i) x[i] = (white ? u[i] : -u[i]) + noise * g(r);
      for (int c = 0; c < 64; ++c) {
        const uint8_t mt = uint8_t(r() % 3);
        s.mine_theirs[n * 64 + c] = mt;
        // Mine = the colour to move: black to move -> mine is black (1); white -> mine is white (2).
        s.black_white[n * 64 + c] = mt == 0 ? 0 : white ? uint8_t(3 - mt) : mt;
        const float* e = E.colptr(3 * c + mt);
        for (int i = 0; i < d; ++i) x[i] += e[i];
      }
      s.move[n] = uint8_t(n % 60);
    }
  }
  return s;
}

}  // namespace ogpt::probes
