#pragma once
// How well a probe reads the board: accuracy overall, per cell, per true class, per move number,
// F1 for binary features, and the per-cell majority-class baseline.
#include <array>
#include <cstdint>
#include <vector>

#include "nlohmann/json_fwd.hpp"

namespace ogpt::probes {

struct Metrics {
  uint64_t positions = 0;
  int C = 3;
  double accuracy = 0;                 // over all (position, cell) pairs
  std::array<double, 64> cell_accuracy{};
  std::vector<double> class_accuracy;  // [C] recall of each true class
  std::vector<uint64_t> class_count;   // [C] cells of each true class
  std::vector<double> move_accuracy;   // [60] by move number (position t = after move t), NaN if none
  std::vector<uint64_t> move_count;    // [60] positions per move number
  // Binary features (C == 2), class 1 positive, pooled over cells:
  double precision = 0, recall = 0, f1 = 0;
};

// pred, y: [N][64]; move: [N] move index t of each position (0..59), may be null.
Metrics compute_metrics(const uint8_t* pred, const uint8_t* y, const uint8_t* move, uint64_t N, int C);

// The most frequent class of each cell in y [N][64] (ties to the lower class).
std::array<uint8_t, 64> majority_classes(const uint8_t* y, uint64_t N, int C);
// Accuracy of predicting majority[cell] everywhere.
double majority_accuracy(const std::array<uint8_t, 64>& majority, const uint8_t* y, uint64_t N);

nlohmann::json metrics_to_json(const Metrics& m);

}  // namespace ogpt::probes
