#include "model/profile.hpp"

#include <array>
#include <chrono>
#include <ctime>

namespace ogpt::model::profile {

namespace {
bool g_on = false;
bool g_cpu = false;
std::array<double, kOpCount> g_t{};
const char* kNames[kOpCount] = {"matmul fwd", "matmul bwd data", "matmul bwd weights", "embed",
                                "layernorm", "attention", "gelu", "cross-entropy",
                                "bf16 convert", "bias grad", "residual", "weight copies", "hooks"};
}  // namespace

void enable(bool on) { g_on = on; }
bool enabled() { return g_on; }
void reset() { g_t.fill(0.0); }
void add(Op op, double s) { g_t[op] += s; }
void use_thread_cpu_time(bool on) { g_cpu = on; }
double now() {
  if (g_cpu) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
std::vector<std::pair<std::string, double>> report() {
  std::vector<std::pair<std::string, double>> r;
  for (int i = 0; i < kOpCount; ++i)
    if (g_t[i] > 0) r.emplace_back(kNames[i], g_t[i]);
  return r;
}

}  // namespace ogpt::model::profile
