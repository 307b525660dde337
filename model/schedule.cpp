#include "model/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace ogpt::model {

double lr_at(const Schedule& s, int64_t step) {
  if (step < s.warmup_steps) return s.lr * static_cast<double>(step + 1) / s.warmup_steps;
  const double floor = s.floor_frac * s.lr;
  const int64_t decay_steps = s.total_steps - s.warmup_steps;
  if (decay_steps <= 1) return step < s.total_steps ? s.lr : floor;
  // progress 0 at the first step after warmup, 1 at the last step of the run.
  double progress = static_cast<double>(step - s.warmup_steps) / static_cast<double>(decay_steps - 1);
  progress = std::clamp(progress, 0.0, 1.0);
  return floor + 0.5 * (s.lr - floor) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace ogpt::model
