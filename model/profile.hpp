#pragma once
// A per-op wall-clock timer for the GPT's forward/backward (off by default; a disabled timer
// costs one branch). The benchmark enables it to print where the time goes.
#include <string>
#include <utility>
#include <vector>

namespace ogpt::model::profile {

enum Op : int {
  kMatmulFwd, kMatmulBwdData, kMatmulBwdWeights, kEmbed, kLayerNorm, kAttention, kGelu,
  kCrossEntropy, kConvert, kBias, kResidual, kWeights, kHooks, kOpCount
};

void enable(bool on);
bool enabled();
void reset();
void add(Op op, double seconds);
// (op name, total seconds) for every op with time, in enum order.
std::vector<std::pair<std::string, double>> report();

double now();  // seconds: monotonic wall clock, or this thread's CPU time (see below)
// Thread CPU time instead of wall time: with one thread, a measurement that other processes on
// a busy machine cannot inflate.
void use_thread_cpu_time(bool on);

struct Scope {
  Op op;
  double t0;
  explicit Scope(Op o) : op(o), t0(enabled() ? now() : 0.0) {}
  ~Scope() {
    if (enabled()) add(op, now() - t0);
  }
};

}  // namespace ogpt::model::profile
