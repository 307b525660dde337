// AdamW, gradient norm and the learning-rate schedule against slow obvious versions and
// hand-derived values.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <random>

#include "model/adamw.hpp"
#include "model/schedule.hpp"

using namespace ogpt::model;

namespace {
Config tiny() {
  Config c;
  c.n_layers = 1;
  c.d_model = 16;
  c.n_heads = 2;
  c.d_head = 8;
  c.d_mlp = 32;
  return c;
}
void fill_random(ParamBlock& b, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, scale);
  for (auto& x : b.data) x = n(rng);
}
}  // namespace

TEST_CASE("train adamw: first step moves each weight by ~lr against its gradient, decay only on matrices") {
  Config c = tiny();
  ParamBlock p(c), g(c);
  fill_random(p, 1, 0.5f);
  fill_random(g, 2, 1e-2f);
  ParamBlock p0 = p;
  AdamWState s;
  AdamWHyper h;
  h.weight_decay = 0.1;
  const double lr = 1e-3;
  adamw_step(p, g, s, h, lr, 1.0);
  CHECK(s.t == 1);
  // After one step m/(1-b1) = g and sqrt(v/(1-b2)) = |g|: the Adam part is lr * sign(g) (up to eps).
  for (const ParamSpec& spec : p.specs) {
    for (size_t k = 0; k < spec.numel; k += 7) {
      size_t i = spec.offset + k;
      double gi = g.data[i];
      double expect = p0.data[i] * (1 - (spec.decay ? lr * h.weight_decay : 0.0)) - lr * gi / (std::abs(gi) + h.eps);
      REQUIRE(p.data[i] == doctest::Approx(expect).epsilon(1e-5));
    }
  }
}

TEST_CASE("train adamw: fast step equals the reference (the same per-element update, scalar) bit for bit over several steps") {
  Config c = tiny();
  ParamBlock p(c), g(c);
  fill_random(p, 3, 0.3f);
  AdamWHyper h;
  h.weight_decay = 0.1;
  ParamBlock pr = p;
  AdamWState s, sr;
  for (int step = 0; step < 5; ++step) {
    fill_random(g, 10 + step, 0.05f);
    double scale = step == 2 ? 0.5 : 1.0;  // a clipped step
    adamw_step(p, g, s, h, 1e-3 * (step + 1), scale);
    adamw_step_reference(pr, g, sr, h, 1e-3 * (step + 1), scale);
  }
  CHECK(p.data == pr.data);
  CHECK(s.m == sr.m);
  CHECK(s.v == sr.v);
}

TEST_CASE("train adamw: five steps equal an independent double-precision AdamW (bias correction, clipping scale, decay)") {
  // Written from the formula in adamw.hpp, sharing no code with adamw_step: the reference test
  // above shares its per-element update, and at step 1 the bias corrections and any gradient
  // scale cancel, so only later steps with a scale != 1 can tell a wrong correction or an ignored
  // clipping factor.
  Config c = tiny();
  ParamBlock p(c), g(c);
  fill_random(p, 7, 0.3f);
  AdamWHyper h;
  h.weight_decay = 0.1;
  AdamWState s;
  const size_t n = p.data.size();
  std::vector<double> P(p.data.begin(), p.data.end()), M(n, 0.0), V(n, 0.0);
  std::vector<bool> decays(n, false);
  for (const ParamSpec& spec : p.specs)
    for (size_t k = 0; k < spec.numel; ++k) decays[spec.offset + k] = spec.decay;
  const double scales[5] = {1.0, 0.5, 1.0, 0.25, 0.8};
  for (int t = 1; t <= 5; ++t) {
    fill_random(g, 20 + t, 0.05f);
    const double lr = 1e-3 * t, scale = scales[t - 1];
    adamw_step(p, g, s, h, lr, scale);
    for (size_t i = 0; i < n; ++i) {
      const double gi = double(g.data[i]) * scale;
      M[i] = h.beta1 * M[i] + (1 - h.beta1) * gi;
      V[i] = h.beta2 * V[i] + (1 - h.beta2) * gi * gi;
      if (decays[i]) P[i] -= lr * h.weight_decay * P[i];
      P[i] -= lr * (M[i] / (1 - std::pow(h.beta1, t))) / (std::sqrt(V[i] / (1 - std::pow(h.beta2, t))) + h.eps);
    }
  }
  double max_diff = 0;
  for (size_t i = 0; i < n; ++i) max_diff = std::max(max_diff, std::fabs(double(p.data[i]) - P[i]));
  // float rounding over five steps stays near 1e-7 here; the updates are ~1e-3 each, and a
  // dropped scale or a bias correction stuck at step 1 moves weights by ~1e-4
  CHECK(max_diff < 2e-6);
}

TEST_CASE("train adamw: one thread and several give the same bits on tensors large enough to split") {
  Config c;  // mlp.W_in and W_out have 64 x 512 = 32768 elements: over the 16384 that go parallel
  c.n_layers = 1;
  c.d_model = 64;
  c.n_heads = 2;
  c.d_head = 32;
  c.d_mlp = 512;
  ParamBlock p(c), g(c);
  fill_random(p, 8, 0.3f);
  const ParamBlock p0 = p;
  ParamBlock p1 = p;
  AdamWHyper h;
  AdamWState s, s1;
  const int threads = omp_get_max_threads();
  for (int step = 0; step < 3; ++step) {
    fill_random(g, 30 + step, 0.05f);
    omp_set_num_threads(4);
    adamw_step(p, g, s, h, 1e-3, step == 1 ? 0.5 : 1.0);
    omp_set_num_threads(1);
    adamw_step(p1, g, s1, h, 1e-3, step == 1 ? 0.5 : 1.0);
  }
  omp_set_num_threads(threads);
  CHECK(p.data == p1.data);
  CHECK(s.m == s1.m);
  CHECK(s.v == s1.v);
  CHECK(p.data != p0.data);
}

TEST_CASE("train adamw: gradient norm and clipping") {
  std::vector<float> g(100003);
  std::mt19937_64 rng(5);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (auto& x : g) x = n(rng);
  double a = grad_norm(g.data(), g.size()), b = grad_norm_reference(g.data(), g.size());
  CHECK(a == doctest::Approx(b).epsilon(1e-12));
  CHECK(a == doctest::Approx(std::sqrt(100003.0)).epsilon(0.02));
  int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  double one = grad_norm(g.data(), g.size());
  omp_set_num_threads(threads);
  CHECK(one == a);  // same bits for any thread count
  CHECK(clip_scale(2.0, 1.0) == doctest::Approx(0.5));
  CHECK(clip_scale(0.5, 1.0) == 1.0);
  CHECK(clip_scale(5.0, 0.0) == 1.0);  // clipping off
  g[17] = NAN;
  CHECK(!std::isfinite(grad_norm(g.data(), g.size())));
}

TEST_CASE("train schedule: linear warmup, cosine to the floor, or the peak held and a late cosine") {
  Schedule s;
  s.lr = 1e-3;
  s.warmup_steps = 10;
  s.total_steps = 110;
  s.floor_frac = 0.1;
  CHECK(lr_at(s, 0) == doctest::Approx(1e-4));
  CHECK(lr_at(s, 4) == doctest::Approx(5e-4));
  CHECK(lr_at(s, 9) == doctest::Approx(1e-3));
  CHECK(lr_at(s, 10) == doctest::Approx(1e-3));  // the first decay step is the peak
  // Half way through the decay (step 10 + 99/2): floor + (peak - floor)/2.
  s.total_steps = 111;
  CHECK(lr_at(s, 60) == doctest::Approx(1e-4 + 0.5 * 9e-4));
  CHECK(lr_at(s, 110) == doctest::Approx(1e-4));  // last step: the floor
  CHECK(lr_at(s, 500) == doctest::Approx(1e-4));  // held after the end
  double prev = 1;
  for (int64_t t = 10; t < 111; ++t) {  // monotone decreasing after warmup
    CHECK(lr_at(s, t) <= prev);
    prev = lr_at(s, t);
  }
  // Warmup-stable-decay: the peak held, the cosine over the last 21 steps only.
  s.decay_steps = 21;
  CHECK(decay_start(s) == 90);
  CHECK(lr_at(s, 10) == doctest::Approx(1e-3));
  CHECK(lr_at(s, 89) == doctest::Approx(1e-3));  // the last stable step
  CHECK(lr_at(s, 90) == doctest::Approx(1e-3));  // the first decay step is the peak
  CHECK(lr_at(s, 100) == doctest::Approx(1e-4 + 0.5 * 9e-4));
  CHECK(lr_at(s, 110) == doctest::Approx(1e-4));
  s.decay_steps = 0;  // a trunk: the peak to the end
  CHECK(lr_at(s, 110) == doctest::Approx(1e-3));
  s.decay_steps = 1000;  // longer than the run: the cosine after warmup, as decay_steps -1
  for (int64_t t : {0, 10, 37, 60, 110}) {
    Schedule c = s;
    c.decay_steps = -1;
    CHECK(lr_at(s, t) == doctest::Approx(lr_at(c, t)));
  }
  Schedule none;
  none.lr = 2e-3;
  none.warmup_steps = 0;
  none.total_steps = 1;
  CHECK(lr_at(none, 0) == doctest::Approx(2e-3));
}
