#pragma once
// Learning-rate schedule as in Li et al. (minGPT): linear warmup from ~0 to the peak, then a
// cosine decay to a floor (a fraction of the peak, 10% by default), reached at the last step and
// held after it (a run whose total is extended on resume keeps the floor until re-planned).
#include <cstdint>

namespace ogpt::model {

struct Schedule {
  double lr = 5e-4;            // peak learning rate
  int64_t warmup_steps = 0;    // steps 0 .. warmup_steps-1 ramp linearly: lr * (step+1)/warmup
  int64_t total_steps = 1;     // the cosine ends here
  double floor_frac = 0.1;     // final lr = floor_frac * lr
};

// Learning rate for 0-based step `step`.
double lr_at(const Schedule& s, int64_t step);

}  // namespace ogpt::model
