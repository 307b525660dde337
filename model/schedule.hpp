#pragma once
// Learning-rate schedule as in Li et al. (minGPT): linear warmup from ~0 to the peak, then a
// cosine decay to a floor (a fraction of the peak, 10% by default), reached at the last step and
// held after it (a run whose total is extended on resume keeps the floor until re-planned).
//
// Or warmup-stable-decay (decay_steps >= 0): the peak is held after warmup and the cosine runs
// over the last decay_steps only. Why: a run trained over many sessions can keep a "trunk" at
// the peak lr (decay_steps 0) and branch a short decay off it whenever weights are to be shipped,
// then continue the trunk. Restarting from annealed weights instead (a new cosine with a new
// warmup) first undoes the anneal: on the 8x256 default the held-out excess rose by 0.01 nats and
// took ~650k games to come back (README, "The shipped model").
#include <cstdint>

namespace ogpt::model {

struct Schedule {
  double lr = 5e-4;            // peak learning rate
  int64_t warmup_steps = 0;    // steps 0 .. warmup_steps-1 ramp linearly: lr * (step+1)/warmup
  int64_t total_steps = 1;     // the cosine ends here
  double floor_frac = 0.1;     // final lr = floor_frac * lr
  int64_t decay_steps = -1;    // -1: cosine over all steps after warmup; else over the last decay_steps
};

// The first step of the cosine: right after warmup, or decay_steps before the end.
int64_t decay_start(const Schedule& s);

// Learning rate for 0-based step `step`.
double lr_at(const Schedule& s, int64_t step);

}  // namespace ogpt::model
