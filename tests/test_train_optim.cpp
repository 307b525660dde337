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

TEST_CASE("train adamw: fast step equals the reference bit for bit over several steps and thread counts") {
  Config c = tiny();
  ParamBlock p(c), g(c);
  fill_random(p, 3, 0.3f);
  AdamWHyper h;
  h.weight_decay = 0.1;
  ParamBlock pr = p, p1 = p;
  AdamWState s, sr, s1;
  int threads = omp_get_max_threads();
  for (int step = 0; step < 5; ++step) {
    fill_random(g, 10 + step, 0.05f);
    double scale = step == 2 ? 0.5 : 1.0;  // a clipped step
    adamw_step(p, g, s, h, 1e-3 * (step + 1), scale);
    adamw_step_reference(pr, g, sr, h, 1e-3 * (step + 1), scale);
    omp_set_num_threads(1);
    adamw_step(p1, g, s1, h, 1e-3 * (step + 1), scale);
    omp_set_num_threads(threads);
  }
  CHECK(p.data == pr.data);
  CHECK(s.m == sr.m);
  CHECK(s.v == sr.v);
  CHECK(p.data == p1.data);
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
