#pragma once
// AdamW (Loshchilov & Hutter) as PyTorch implements it, with decoupled weight decay applied only
// to the parameters whose ParamSpec::decay is set (matrices and embeddings, as Li et al.), and
// global gradient-norm clipping.
//
// Per element, at step t (1-based), with g = grad * grad_scale (the clipping factor):
//   m = b1 m + (1-b1) g          v = b2 v + (1-b2) g^2
//   p -= lr * wd * p             (decay specs only)
//   p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//
// Determinism: the update is element-wise (OpenMP over elements, AVX-512 where the build has it;
// any thread count and the scalar reference give the same bits); the gradient norm sums fixed blocks of 4096 floats in double and then adds the block sums
// in order, so it too is the same for every thread count.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/params.hpp"
#include "util/cereal_bounded.hpp"

namespace ogpt::model {

struct AdamWHyper {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
  double clip = 1.0;  // max global gradient L2 norm; <= 0 disables clipping
};

struct AdamWState {
  int64_t t = 0;            // steps taken
  std::vector<float> m, v;  // first and second moments, laid out like the parameters

  void reset(size_t n) {
    t = 0;
    m.assign(n, 0.0f);
    v.assign(n, 0.0f);
  }
  template <class Archive>
  void save(Archive& ar) const {
    ar(t, m, v);
  }
  template <class Archive>
  void load(Archive& ar) {  // lengths bounded by the checkpoint (util/cereal_bounded.hpp)
    ar(t);
    util::load_bounded(ar, m, "the first moments");
    util::load_bounded(ar, v, "the second moments");
  }
};

// Global L2 norm of g[0..n) (deterministic, see above).
double grad_norm(const float* g, size_t n);
double grad_norm_reference(const float* g, size_t n);  // plain serial double sum

// Factor to multiply gradients by so that their norm is at most `clip` (1 if clip <= 0).
double clip_scale(double norm, double clip);

// One AdamW step on every parameter of `p` with gradients `g` (same layout) scaled by
// grad_scale, at learning rate lr. Increments s.t. The caller must then call
// gpt.mark_params_changed() (Trainer does).
// only: when given, just the specs for which it is true are updated (Muon hands the rest here).
void adamw_step(ParamBlock& p, const ParamBlock& g, AdamWState& s, const AdamWHyper& h, double lr,
                double grad_scale, bool (*only)(const ParamSpec&) = nullptr);
// Slow obvious version (serial, one element at a time, looking up each element's spec) for the
// tests; it must give the same bits as adamw_step.
void adamw_step_reference(ParamBlock& p, const ParamBlock& g, AdamWState& s, const AdamWHyper& h,
                          double lr, double grad_scale, bool (*only)(const ParamSpec&) = nullptr);

}  // namespace ogpt::model
