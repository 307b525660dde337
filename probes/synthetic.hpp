#pragma once
// Synthetic activations where the right answer is known, for the tests and the benchmark:
// each position is a random board (every cell uniformly empty / mine / theirs) and a random
// colour to move; its activation is a fixed random linear embedding of the one-hot mine/theirs
// board plus a "to move" direction, plus Gaussian noise:
//   x = sum_c E[:, 3c + mt[c]] + (white to move ? u : -u) + noise * N(0, I)
// A linear probe reads mine/theirs exactly (d >= 192); black/white = mine/theirs XOR colour to
// move is not linearly readable (a product of two features) but a ReLU layer reads it.
#include <armadillo>
#include <cstdint>
#include <vector>

namespace ogpt::probes {

struct SyntheticBoards {
  arma::fmat X;                       // [d x N]
  std::vector<uint8_t> mine_theirs;   // [N][64]
  std::vector<uint8_t> black_white;   // [N][64]
  std::vector<uint8_t> move;          // [N] a fake move number (n % 60), for per-move metrics
};

SyntheticBoards make_synthetic_boards(size_t N, int d, float noise, uint64_t seed);

}  // namespace ogpt::probes
