#include "model/adamw.hpp"

#include <immintrin.h>

#include <cmath>

#include "util/error.hpp"

namespace ogpt::model {

namespace {
constexpr size_t kNormBlock = 4096;

void check_layout(const ParamBlock& p, const ParamBlock& g, AdamWState& s) {
  if (g.data.size() != p.data.size())
    throw std::logic_error("adamw: gradient block does not match the parameters");
  if (s.m.size() != p.data.size() || s.v.size() != p.data.size()) s.reset(p.data.size());
}

// The per-element update, shared by the fast and the reference loops. Every multiply-add is an
// explicit fma and no other a*b+c is left for the compiler to contract, so vector, scalar and
// remainder iterations (whatever the thread split) round identically.
struct Coef {
  float b1, omb1, b2, omb2, inv_bc1, inv_bc2_sqrt, eps, neg_lr, neg_lr_wd, grad_scale;
};

inline void update(float& p, float& m, float& v, float graw, const Coef& c, bool decay) {
  float g = graw * c.grad_scale;
  m = std::fma(c.b1, m, c.omb1 * g);
  v = std::fma(c.b2, v, (c.omb2 * g) * g);
  if (decay) p = std::fma(c.neg_lr_wd, p, p);
  float denom = std::fma(std::sqrt(v), c.inv_bc2_sqrt, c.eps);
  p = std::fma(c.neg_lr, (m * c.inv_bc1) / denom, p);
}

// update() on 16 floats at once: the same IEEE operations in the same order (fma, mul, sqrt, div
// are each correctly rounded), so the bits equal the scalar loop's.
#ifdef __AVX512F__
inline void update16(float* p, float* m, float* v, const float* graw, const Coef& c, bool decay) {
  __m512 g = _mm512_mul_ps(_mm512_loadu_ps(graw), _mm512_set1_ps(c.grad_scale));
  __m512 M = _mm512_fmadd_ps(_mm512_set1_ps(c.b1), _mm512_loadu_ps(m), _mm512_mul_ps(_mm512_set1_ps(c.omb1), g));
  __m512 V = _mm512_fmadd_ps(_mm512_set1_ps(c.b2), _mm512_loadu_ps(v),
                             _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(c.omb2), g), g));
  __m512 P = _mm512_loadu_ps(p);
  if (decay) P = _mm512_fmadd_ps(_mm512_set1_ps(c.neg_lr_wd), P, P);
  __m512 denom = _mm512_fmadd_ps(_mm512_sqrt_ps(V), _mm512_set1_ps(c.inv_bc2_sqrt), _mm512_set1_ps(c.eps));
  __m512 step = _mm512_div_ps(_mm512_mul_ps(M, _mm512_set1_ps(c.inv_bc1)), denom);
  P = _mm512_fmadd_ps(_mm512_set1_ps(c.neg_lr), step, P);
  _mm512_storeu_ps(m, M);
  _mm512_storeu_ps(v, V);
  _mm512_storeu_ps(p, P);
}
#endif

Coef make_coef(const AdamWHyper& h, int64_t t, double lr, double grad_scale) {
  Coef c;
  c.b1 = static_cast<float>(h.beta1);
  c.omb1 = static_cast<float>(1.0 - h.beta1);
  c.b2 = static_cast<float>(h.beta2);
  c.omb2 = static_cast<float>(1.0 - h.beta2);
  c.inv_bc1 = static_cast<float>(1.0 / (1.0 - std::pow(h.beta1, static_cast<double>(t))));
  c.inv_bc2_sqrt = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(h.beta2, static_cast<double>(t))));
  c.eps = static_cast<float>(h.eps);
  c.neg_lr = static_cast<float>(-lr);
  c.neg_lr_wd = static_cast<float>(-lr * h.weight_decay);
  c.grad_scale = static_cast<float>(grad_scale);
  return c;
}
}  // namespace

double grad_norm(const float* g, size_t n) {
  size_t nb = (n + kNormBlock - 1) / kNormBlock;
  std::vector<double> part(nb, 0.0);
#pragma omp parallel for schedule(static)
  for (size_t b = 0; b < nb; ++b) {
    size_t lo = b * kNormBlock, hi = std::min(n, lo + kNormBlock);
    double s = 0;
    for (size_t i = lo; i < hi; ++i) s += static_cast<double>(g[i]) * g[i];
    part[b] = s;
  }
  double s = 0;
  for (double x : part) s += x;
  return std::sqrt(s);
}

double grad_norm_reference(const float* g, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
  return std::sqrt(s);
}

double clip_scale(double norm, double clip) {
  if (clip <= 0 || !(norm > clip)) return 1.0;
  return clip / norm;
}

void adamw_step(ParamBlock& p, const ParamBlock& g, AdamWState& s, const AdamWHyper& h, double lr,
                double grad_scale, bool (*only)(const ParamSpec&)) {
  check_layout(p, g, s);
  s.t += 1;
  const Coef c = make_coef(h, s.t, lr, grad_scale);
  for (const ParamSpec& spec : p.specs) {
    if (only && !only(spec)) continue;
    float* P = p.data.data() + spec.offset;
    const float* G = g.data.data() + spec.offset;
    float* M = s.m.data() + spec.offset;
    float* V = s.v.data() + spec.offset;
    const int64_t n = static_cast<int64_t>(spec.numel);
    const bool decay = spec.decay && h.weight_decay != 0;
#ifdef __AVX512F__
    const int64_t n16 = n / 16;
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t k = 0; k < n16; ++k) update16(P + 16 * k, M + 16 * k, V + 16 * k, G + 16 * k, c, decay);
    for (int64_t i = 16 * n16; i < n; ++i) update(P[i], M[i], V[i], G[i], c, decay);
#else
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; ++i) update(P[i], M[i], V[i], G[i], c, decay);
#endif
  }
}

void adamw_step_reference(ParamBlock& p, const ParamBlock& g, AdamWState& s, const AdamWHyper& h,
                          double lr, double grad_scale, bool (*only)(const ParamSpec&)) {
  check_layout(p, g, s);
  s.t += 1;
  const Coef c = make_coef(h, s.t, lr, grad_scale);
  for (size_t i = 0; i < p.data.size(); ++i) {
    bool decays = false, selected = true;
    for (const ParamSpec& spec : p.specs)
      if (i >= spec.offset && i < spec.offset + spec.numel) {
        decays = spec.decay;
        selected = !only || only(spec);
      }
    if (!selected) continue;
    update(p.data[i], s.m[i], s.v[i], g.data[i], c, decays && h.weight_decay != 0);
  }
}

}  // namespace ogpt::model
