#include "model/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace ogpt::model {

int64_t decay_start(const Schedule& s) {
  return s.decay_steps < 0 ? s.warmup_steps : std::max(s.warmup_steps, s.total_steps - s.decay_steps);
}

double lr_at(const Schedule& s, int64_t step) {
  if (step < s.warmup_steps) return s.lr * static_cast<double>(step + 1) / s.warmup_steps;
  const double floor = s.floor_frac * s.lr;
  const int64_t from = decay_start(s);
  if (step < from) return s.lr;
  const int64_t decay_steps = s.total_steps - from;
  if (decay_steps <= 1) return step < s.total_steps ? s.lr : floor;
  // progress 0 at the first step of the decay, 1 at the last step of the run.
  double progress = static_cast<double>(step - from) / static_cast<double>(decay_steps - 1);
  progress = std::clamp(progress, 0.0, 1.0);
  return floor + 0.5 * (s.lr - floor) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace ogpt::model
