// Probe metrics. Plain counting loops; N*64 bytes at most a few hundred MB, one pass.
#include "probes/metrics.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace ogpt::probes {

Metrics compute_metrics(const uint8_t* pred, const uint8_t* y, const uint8_t* move, uint64_t N, int C) {
  Metrics m;
  m.positions = N;
  m.C = C;
  std::array<uint64_t, 64> cell_ok{};
  std::vector<uint64_t> class_ok(C, 0), move_ok(60, 0);
  m.class_count.assign(C, 0);
  m.move_count.assign(60, 0);
  uint64_t ok = 0, tp = 0, fp = 0, fn = 0;
  for (uint64_t n = 0; n < N; ++n) {
    const uint8_t* p = pred + n * 64;
    const uint8_t* t = y + n * 64;
    int row_ok = 0;
    for (int c = 0; c < 64; ++c) {
      const bool hit = p[c] == t[c];
      cell_ok[c] += hit;
      row_ok += hit;
      class_ok[t[c]] += hit;
      ++m.class_count[t[c]];
      if (C == 2) {
        tp += p[c] == 1 && t[c] == 1;
        fp += p[c] == 1 && t[c] == 0;
        fn += p[c] == 0 && t[c] == 1;
      }
    }
    ok += row_ok;
    if (move && move[n] < 60) {
      move_ok[move[n]] += row_ok;
      ++m.move_count[move[n]];
    }
  }
  const double denom = double(N) * 64;
  m.accuracy = N ? double(ok) / denom : NAN;
  for (int c = 0; c < 64; ++c) m.cell_accuracy[c] = N ? double(cell_ok[c]) / double(N) : NAN;
  m.class_accuracy.resize(C);
  for (int k = 0; k < C; ++k)
    m.class_accuracy[k] = m.class_count[k] ? double(class_ok[k]) / double(m.class_count[k]) : NAN;
  m.move_accuracy.resize(60);
  for (int t = 0; t < 60; ++t)
    m.move_accuracy[t] = m.move_count[t] ? double(move_ok[t]) / (double(m.move_count[t]) * 64) : NAN;
  if (C == 2) {
    m.precision = tp + fp ? double(tp) / double(tp + fp) : 0;
    m.recall = tp + fn ? double(tp) / double(tp + fn) : 0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  }
  return m;
}

std::array<uint8_t, 64> majority_classes(const uint8_t* y, uint64_t N, int C) {
  std::vector<uint64_t> count(64 * C, 0);
  for (uint64_t n = 0; n < N; ++n)
    for (int c = 0; c < 64; ++c) ++count[c * C + y[n * 64 + c]];
  std::array<uint8_t, 64> maj{};
  for (int c = 0; c < 64; ++c) {
    int best = 0;
    for (int k = 1; k < C; ++k)
      if (count[c * C + k] > count[c * C + best]) best = k;
    maj[c] = uint8_t(best);
  }
  return maj;
}

double majority_accuracy(const std::array<uint8_t, 64>& majority, const uint8_t* y, uint64_t N) {
  uint64_t ok = 0;
  for (uint64_t n = 0; n < N; ++n)
    for (int c = 0; c < 64; ++c) ok += y[n * 64 + c] == majority[c];
  return N ? double(ok) / (double(N) * 64) : NAN;
}

static nlohmann::json num(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

nlohmann::json metrics_to_json(const Metrics& m) {
  nlohmann::json j;
  j["positions"] = m.positions;
  j["accuracy"] = num(m.accuracy);
  auto cells = nlohmann::json::array();
  for (double a : m.cell_accuracy) cells.push_back(num(a));
  j["cell_accuracy"] = cells;  // index = square (a1 = 0, row*8+col)
  auto cls = nlohmann::json::array();
  for (double a : m.class_accuracy) cls.push_back(num(a));
  j["class_accuracy"] = cls;
  auto mv = nlohmann::json::array();
  for (double a : m.move_accuracy) mv.push_back(num(a));
  j["move_accuracy"] = mv;  // index = token position t (the board after move t+1, counting moves from 1)
  if (m.C == 2) {
    j["precision"] = num(m.precision);
    j["recall"] = num(m.recall);
    j["f1"] = num(m.f1);
  }
  return j;
}

}  // namespace ogpt::probes
