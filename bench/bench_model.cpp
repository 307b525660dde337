// GPT throughput: forward and training step (forward + backward, no optimizer) at batch
// 256 x 59 for presets 8x512, 8x256, 4x128, in f32 and bf16; MFU against the peak of a plain
// oneDNN matmul measured here; and where the time goes (per-op timer, printed to stderr).
//
//   ./build/bench_model                          # everything (8x512 f32 training takes minutes)
//   ./build/bench_model --benchmark_filter=bf16  # one precision
//   OMP_NUM_THREADS=1 OGPT_BENCH_BATCH=64 ./build/bench_model   # per-core figures, busy machine
// Counters (wall clock): games/s, tokens/s, TFLOP/s (matmul FLOPs only), MFU = TFLOP/s / the
// matmul peak measured first (same precision). games/cpu-s uses this process's CPU time: with one
// thread it is the per-core throughput even when other processes load the machine (with more
// threads it also counts OpenMP spin-waiting). The per-op breakdown (stderr) uses thread CPU time
// with one thread, wall time otherwise.
//
// Measured 2026-11-25 on the 2-core Zen 4 (avx512_bf16, no AMX) while other jobs kept the load
// average at 12-15, so wall-clock rates were meaningless; per-core rates from CPU time instead
// (OMP_NUM_THREADS=1 OGPT_BENCH_BATCH=64 ./build/bench_model), games per CPU-second:
//                 forward bf16  train bf16  forward f32  train f32   (MFU vs 1-core matmul peak)
//   8x512              59.3        19.3         32.5        10.7     bf16: fwd 90%, train 88%
//   8x256             205.9        67.6        121.3        40.8     bf16: fwd 78%, train 77%
//   4x128            1290         436          812         278
//   matmul peak [15104x512]x[512x2048]: bf16 0.196, f32 0.099 TFLOP per CPU-second
//   8x512 bf16 train time: matmuls 89%, attention 5.1%, gelu 2.8%, bias+bf16 1.5%, LN 1.3%
// PyTorch 1.13 (bench/pytorch_train.py --threads 1 --batch 64), same machine and conditions:
//   8x512 bf16 autocast: train 16.8, forward 53.4 games per CPU-second.
// Two threads scale these by up to 2x on a quiet machine (the matmul peak is per core).
//
// Measured 2026-12-01 on a 2-core AMD EPYC Zen 3 (AVX2 + FMA, no AVX-512: oneDNN 2.6 has no bf16
// matmul there, so everything runs in f32), quiet machine (the training run paused), 2 threads:
//   matmul peak [15104x512]x[512x2048] f32: 0.122 TFLOP/s (gemm:jit)
//   8x256 f32 train, batch 64: 17.9 games/s with the scalar GELU/softmax fallbacks (GELU 30%,
//   attention 24% of the step) -> 34.8 with the AVX2 exp/erf and vectorisable attention loops;
//   batch 128: 32.8 -> 35.3 with tall weight gradients computed transposed (WeightGrad).
//   Time at batch 128: matmuls 80% (weight gradients 37%), attention 13%, GELU 3%.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <random>
#include <vector>

#include "model/dnnl_plan.hpp"
#include "model/gpt.hpp"
#include "model/ops.hpp"
#include "model/profile.hpp"

using namespace ogpt::model;

namespace {

const int kBatch = std::getenv("OGPT_BENCH_BATCH") ? std::atoi(std::getenv("OGPT_BENCH_BATCH")) : 256;

double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
std::map<bool, double> g_peak;  // bf16? -> TFLOP/s of the plain matmul (filled by BM_matmul_peak)

// Matmul FLOPs of one forward over B games (attention score/mix FLOPs not counted).
double forward_flops(const Config& c, int B) {
  double N = double(B) * c.n_ctx, d = c.d_model, hd = double(c.n_heads) * c.d_head, dm = c.d_mlp;
  return 2.0 * N * (c.n_layers * (d * 3 * hd + hd * d + 2 * d * dm) + d * c.d_vocab);
}

void random_batch(std::vector<uint8_t>& tok, std::vector<uint8_t>& tgt, int B, int T) {
  std::mt19937 rng(1);
  tok.resize(B * T);
  tgt.resize(B * T);
  for (int i = 0; i < B * T; ++i) {
    tok[i] = 1 + rng() % 60;
    tgt[i] = 1 + rng() % 60;
  }
}

void print_breakdown(const char* what, double step_seconds) {
  double total = 0, mm = 0;
  for (auto& [n, s] : profile::report()) {
    total += s;
    if (n.rfind("matmul", 0) == 0) mm += s;
  }
  std::fprintf(stderr, "\n%s: one step %.3f s; timed ops %.3f s (matmuls %.0f%%)\n", what,
               step_seconds, total, 100.0 * mm / std::max(total, 1e-12));
  for (auto& [n, s] : profile::report())
    std::fprintf(stderr, "  %-20s %8.1f ms  %5.1f%%\n", n.c_str(), 1e3 * s, 100.0 * s / total);
}

void set_counters(benchmark::State& st, const Config& c, bool bf16, double flops_per_step,
                  double cpu_seconds) {
  double steps = static_cast<double>(st.iterations());
  st.counters["games/cpu-s"] = steps * kBatch / cpu_seconds;
  st.counters["games/s"] = benchmark::Counter(steps * kBatch, benchmark::Counter::kIsRate);
  st.counters["tokens/s"] =
      benchmark::Counter(steps * kBatch * c.n_ctx, benchmark::Counter::kIsRate);
  st.counters["TFLOP/s"] =
      benchmark::Counter(steps * flops_per_step * 1e-12, benchmark::Counter::kIsRate);
  if (g_peak.count(bf16))
    st.counters["MFU"] = benchmark::Counter(steps * flops_per_step * 1e-12 / g_peak[bf16],
                                            benchmark::Counter::kIsRate);
}

// The matmul peak: [15104 x 512] x [512 x 2048], the shape of the 8x512 MLP at batch 256.
void BM_matmul_peak(benchmark::State& st) {
  const bool bf16 = st.range(0) != 0;
  const int64_t M = int64_t(256) * 59, K = 512, N = 2048;
  Matmul mm({M, K, N, false, false, false, false}, bf16);
  std::vector<float> a(M * K, 0.01f), b(K * N, 0.02f), c(M * N);
  std::vector<ops::bf16_t> ab(M * K), bb(K * N);
  ops::convert(ab.data(), a.data(), a.size());
  ops::convert(bb.data(), b.data(), b.size());
  const void* A = bf16 ? static_cast<const void*>(ab.data()) : a.data();
  const void* B = bf16 ? static_cast<const void*>(bb.data()) : b.data();
  mm.run(A, B, nullptr, c.data());
  double t0 = profile::now(), c0 = process_cpu_seconds();
  for (auto _ : st) mm.run(A, B, nullptr, c.data());
  double per = (profile::now() - t0) / st.iterations();
  double cpu_per = (process_cpu_seconds() - c0) / st.iterations();
  g_peak[bf16] = 2.0 * M * K * N / per * 1e-12;
  st.counters["TFLOP/cpu-s"] = 2.0 * M * K * N / cpu_per * 1e-12;
  st.counters["TFLOP/s"] =
      benchmark::Counter(st.iterations() * 2.0 * M * K * N * 1e-12, benchmark::Counter::kIsRate);
  st.SetLabel(mm.impl() + " threads=" + std::to_string(omp_get_max_threads()));
}

void run_model(benchmark::State& st, const char* name, bool bf16, bool train) {
  Config c = preset(name);
  GPT g(c, kBatch, bf16 ? Precision::bf16 : Precision::f32);
  init_params(g.params, 1);
  g.mark_params_changed();
  std::vector<uint8_t> tok, tgt;
  random_batch(tok, tgt, kBatch, c.n_ctx);
  auto step = [&] {
    g.forward(tok.data(), train ? tgt.data() : nullptr, kBatch);
    if (train) g.backward();
  };
  step();  // warm-up: buffers, first-touch, oneDNN kernels
  double c0 = process_cpu_seconds();
  for (auto _ : st) step();
  set_counters(st, c, bf16, forward_flops(c, kBatch) * (train ? 3 : 1), process_cpu_seconds() - c0);
  st.SetLabel("batch " + std::to_string(kBatch) + " threads " + std::to_string(omp_get_max_threads()));
  profile::use_thread_cpu_time(omp_get_max_threads() == 1);
  profile::reset();
  profile::enable(true);
  double t1 = profile::now();
  step();
  double prof_step = profile::now() - t1;
  profile::enable(false);
  std::string what = std::string(name) + (bf16 ? " bf16 " : " f32 ") + (train ? "train" : "forward");
  print_breakdown(what.c_str(), prof_step);
  profile::use_thread_cpu_time(false);
}

void BM_forward(benchmark::State& st, const char* name, bool bf16) { run_model(st, name, bf16, false); }
void BM_train(benchmark::State& st, const char* name, bool bf16) { run_model(st, name, bf16, true); }

}  // namespace

BENCHMARK(BM_matmul_peak)->Arg(1)->Name("matmul_peak/bf16")->Unit(benchmark::kMillisecond)->MinTime(2)->UseRealTime();
BENCHMARK(BM_matmul_peak)->Arg(0)->Name("matmul_peak/f32")->Unit(benchmark::kMillisecond)->MinTime(2)->UseRealTime();
#define OGPT_MODEL_BENCH(NAME, PRESET)                                                          \
  BENCHMARK_CAPTURE(BM_forward, NAME##_bf16, PRESET, true)->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime(); \
  BENCHMARK_CAPTURE(BM_train, NAME##_bf16, PRESET, true)->Unit(benchmark::kMillisecond)->MinTime(5)->UseRealTime();   \
  BENCHMARK_CAPTURE(BM_forward, NAME##_f32, PRESET, false)->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime(); \
  BENCHMARK_CAPTURE(BM_train, NAME##_f32, PRESET, false)->Unit(benchmark::kMillisecond)->MinTime(5)->UseRealTime();
OGPT_MODEL_BENCH(m8x512, "8x512")
OGPT_MODEL_BENCH(m8x256, "8x256")
OGPT_MODEL_BENCH(m4x128, "4x128")

BENCHMARK_MAIN();
