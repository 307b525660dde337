#include "model/ops.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "model/simd_math.hpp"

namespace ogpt::model::ops {

using namespace simd;

// Small ops stay on one thread: a parallel region costs microseconds, and far more when other
// processes compete for the cores (spinning OpenMP barriers).
inline bool worth_threads(int64_t work) { return work >= (1 << 15); }

// ---- scalar math: the same operation sequence as simd::exp16 / erf16 ----------------------
float exp_approx(float x) {
  x = std::min(std::max(x, -87.3f), 88.7f);
  float n = std::nearbyint(x * kLog2e);
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  float p = kExpP[0];
  for (int i = 1; i < 6; ++i) p = std::fma(p, r, kExpP[i]);
  float y = std::fma(p, r * r, r) + 1.0f;
  return std::ldexp(y, static_cast<int>(n));
}

float erf_approx(float x) {
  float ax = std::fabs(x);
  float t = 1.0f / std::fma(kErfP, ax, 1.0f);
  float p = kErfA[4];
  for (int i = 3; i >= 0; --i) p = std::fma(p, t, kErfA[i]);
  float y = 1.0f - p * t * exp_approx(-ax * ax);
  return std::copysign(y, x);
}

// ---- bf16 -------------------------------------------------------------------------------------
bf16_t to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16_t>((u >> 16) | 0x40);
  if ((u & 0x7f800000u) == 0) u &= 0x80000000u;  // flush denormals, as vcvtneps2bf16 does
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<bf16_t>(u >> 16);
}

float from_bf16(bf16_t x) {
  uint32_t u = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace {
// Converts one contiguous run (the caller parallelises).
inline void convert_run(bf16_t* out, const float* in, size_t n) {
  size_t i = 0;
#if defined(__AVX512BF16__)
  for (; i + 16 <= n; i += 16) {
    __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(in + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), (__m256i)v);
  }
#endif
  for (; i < n; ++i) out[i] = to_bf16(in[i]);
}
inline void store_row(float* out, const float* in, int n) { std::memcpy(out, in, n * 4); }
inline void store_row(bf16_t* out, const float* in, int n) { convert_run(out, in, n); }
}  // namespace

void convert(bf16_t* out, const float* inp, size_t n) {
  const size_t chunk = 1 << 14;
  const int64_t nchunks = static_cast<int64_t>((n + chunk - 1) / chunk);
#pragma omp parallel for schedule(static) if(worth_threads(n))
  for (int64_t c = 0; c < nchunks; ++c) {
    size_t a = c * chunk, len = std::min(chunk, n - a);
    convert_run(out + a, inp + a, len);
  }
}

void convert(float* out, const float* inp, size_t n) {
  if (out != inp) std::memcpy(out, inp, n * sizeof(float));
}

// ---- embedding --------------------------------------------------------------------------------
void embed_forward(float* out, const uint8_t* tokens, const float* W_E, const float* W_pos, int B,
                   int T, int C) {
#pragma omp parallel for schedule(static) if(worth_threads(static_cast<int64_t>(B) * T * C))
  for (int64_t n = 0; n < static_cast<int64_t>(B) * T; ++n) {
    const float* e = W_E + static_cast<int64_t>(tokens[n]) * C;
    const float* p = W_pos + (n % T) * C;
    float* o = out + n * C;
#pragma omp simd
    for (int c = 0; c < C; ++c) o[c] = e[c] + p[c];
  }
}

// Each thread owns a slice of channels, so every sum has a fixed order.
void embed_backward(float* dW_E, float* dW_pos, const float* dout, const uint8_t* tokens, int B,
                    int T, int C) {
#pragma omp parallel if(worth_threads(static_cast<int64_t>(B) * T * C))
  {
    int nt = omp_get_num_threads(), it = omp_get_thread_num();
    int c0 = C * it / nt, c1 = C * (it + 1) / nt;
    for (int64_t n = 0; n < static_cast<int64_t>(B) * T; ++n) {
      const float* d = dout + n * C;
      float* e = dW_E + static_cast<int64_t>(tokens[n]) * C;
      float* p = dW_pos + (n % T) * C;
      for (int c = c0; c < c1; ++c) {
        e[c] += d[c];
        p[c] += d[c];
      }
    }
  }
}

// ---- LayerNorm --------------------------------------------------------------------------------
namespace {
constexpr float kLnEps = 1e-5f;

template <class To>
inline void layernorm_row(To* out, float* mean, float* rstd, const float* x, const float* w,
                          const float* b, int C, float* tmp) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int c = 0; c < C; ++c) s += x[c];
  float m = s / C;
  float v = 0.0f;
#pragma omp simd reduction(+ : v)
  for (int c = 0; c < C; ++c) v += (x[c] - m) * (x[c] - m);
  float r = 1.0f / std::sqrt(v / C + kLnEps);
  if (w) {
#pragma omp simd
    for (int c = 0; c < C; ++c) tmp[c] = (x[c] - m) * r * w[c] + b[c];
  } else {
#pragma omp simd
    for (int c = 0; c < C; ++c) tmp[c] = (x[c] - m) * r;
  }
  store_row(out, tmp, C);
  *mean = m;
  *rstd = r;
}

template <class To>
void layernorm_impl(float* resid, To* out, float* mean, float* rstd, const float* x,
                    const float* y, const float* w, const float* b, int N, int C) {
#pragma omp parallel if(worth_threads(static_cast<int64_t>(N) * C))
  {
    std::vector<float> tmp(C);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      const float* in = x + n * C;
      if (resid) {
        float* r = resid + n * C;
        const float* yy = y + n * C;
#pragma omp simd
        for (int c = 0; c < C; ++c) r[c] = in[c] + yy[c];
        in = r;
      }
      layernorm_row(out + n * C, mean + n, rstd + n, in, w, b, C, tmp.data());
    }
  }
}
}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int N, int C) {
  layernorm_impl<float>(nullptr, out, mean, rstd, inp, nullptr, w, b, N, C);
}
void layernorm_forward(bf16_t* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int N, int C) {
  layernorm_impl<bf16_t>(nullptr, out, mean, rstd, inp, nullptr, w, b, N, C);
}
void residual_layernorm_forward(float* resid, float* out, float* mean, float* rstd, const float* x,
                                const float* y, const float* w, const float* b, int N, int C) {
  layernorm_impl<float>(resid, out, mean, rstd, x, y, w, b, N, C);
}
void residual_layernorm_forward(float* resid, bf16_t* out, float* mean, float* rstd,
                                const float* x, const float* y, const float* w, const float* b,
                                int N, int C) {
  layernorm_impl<bf16_t>(resid, out, mean, rstd, x, y, w, b, N, C);
}

void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                        const float* w, const float* mean, const float* rstd, int N, int C) {
  int nt_max = omp_get_max_threads();
  std::vector<float> part(w ? static_cast<size_t>(nt_max) * 2 * C : 0, 0.0f);
  int nt_used = 1;
#pragma omp parallel if(worth_threads(static_cast<int64_t>(N) * C))
  {
    int nt = omp_get_num_threads(), it = omp_get_thread_num();
#pragma omp single
    nt_used = nt;
    int64_t n0 = static_cast<int64_t>(N) * it / nt, n1 = static_cast<int64_t>(N) * (it + 1) / nt;
    float* pw = w ? part.data() + static_cast<size_t>(it) * 2 * C : nullptr;
    float* pb = w ? pw + C : nullptr;
    for (int64_t n = n0; n < n1; ++n) {
      const float* d = dout + n * C;
      const float* x = inp + n * C;
      float* di = dinp + n * C;
      float m = mean[n], r = rstd[n];
      float sd = 0.0f, sdx = 0.0f;  // mean(dnorm), mean(dnorm * norm)
      if (w) {
#pragma omp simd reduction(+ : sd, sdx)
        for (int c = 0; c < C; ++c) {
          float xn = (x[c] - m) * r;
          float dn = d[c] * w[c];
          sd += dn;
          sdx += dn * xn;
          pw[c] += d[c] * xn;
          pb[c] += d[c];
        }
      } else {
#pragma omp simd reduction(+ : sd, sdx)
        for (int c = 0; c < C; ++c) {
          sd += d[c];
          sdx += d[c] * (x[c] - m) * r;
        }
      }
      sd /= C;
      sdx /= C;
#pragma omp simd
      for (int c = 0; c < C; ++c) {
        float xn = (x[c] - m) * r;
        float dn = w ? d[c] * w[c] : d[c];
        di[c] += (dn - sd - xn * sdx) * r;
      }
    }
  }
  if (w) {
    for (int it = 0; it < nt_used; ++it) {
      const float* pw = part.data() + static_cast<size_t>(it) * 2 * C;
      for (int c = 0; c < C; ++c) {
        dw[c] += pw[c];
        db[c] += pw[C + c];
      }
    }
  }
}

void residual_forward(float* out, const float* x, const float* y, size_t n) {
#pragma omp parallel for simd schedule(static) if(worth_threads(n))
  for (size_t i = 0; i < n; ++i) out[i] = x[i] + y[i];
}

// ---- GELU -------------------------------------------------------------------------------------
namespace {
template <class To>
void gelu_impl(To* out, const float* inp, size_t n) {
  const size_t chunk = 1 << 12;
  const int64_t nchunks = static_cast<int64_t>((n + chunk - 1) / chunk);
#pragma omp parallel if(worth_threads(n))
  {
    alignas(64) float tmp[1 << 12];
#pragma omp for schedule(static)
    for (int64_t ch = 0; ch < nchunks; ++ch) {
      size_t a = ch * chunk, len = std::min(chunk, n - a);
      const float* x = inp + a;
      size_t i = 0;
#if defined(__AVX512F__)
      for (; i + 16 <= len; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512 e = erf16(_mm512_mul_ps(v, _mm512_set1_ps(kInvSqrt2)));
        __m512 half_v = _mm512_mul_ps(v, _mm512_set1_ps(0.5f));
        _mm512_storeu_ps(tmp + i, _mm512_fmadd_ps(half_v, e, half_v));
      }
#elif defined(__AVX2__) && defined(__FMA__)
      for (; i + 8 <= len; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(kInvSqrt2)));
        __m256 half_v = _mm256_mul_ps(v, _mm256_set1_ps(0.5f));
        _mm256_storeu_ps(tmp + i, _mm256_fmadd_ps(half_v, e, half_v));
      }
#endif
      for (; i < len; ++i) {
        float hv = 0.5f * x[i];
        tmp[i] = std::fma(hv, erf_approx(x[i] * kInvSqrt2), hv);
      }
      store_row(out + a, tmp, static_cast<int>(len));
    }
  }
}
}  // namespace

void gelu_forward(float* out, const float* inp, size_t n) { gelu_impl(out, inp, n); }
void gelu_forward(bf16_t* out, const float* inp, size_t n) { gelu_impl(out, inp, n); }

void gelu_backward(float* dinp, const float* dout, const float* inp, size_t n) {
  // d/dx x*Phi(x) = Phi(x) + x*phi(x)
#pragma omp parallel for schedule(static) if(worth_threads(n))
  for (int64_t ch = 0; ch < static_cast<int64_t>((n + 4095) / 4096); ++ch) {
    size_t a = ch * 4096, e = std::min(n, a + 4096), i = a;
#if defined(__AVX512F__)
    for (; i + 16 <= e; i += 16) {
      __m512 x = _mm512_loadu_ps(inp + i);
      __m512 cdf = _mm512_fmadd_ps(erf16(_mm512_mul_ps(x, _mm512_set1_ps(kInvSqrt2))),
                                   _mm512_set1_ps(0.5f), _mm512_set1_ps(0.5f));
      __m512 pdf = _mm512_mul_ps(
          exp16(_mm512_mul_ps(_mm512_mul_ps(x, x), _mm512_set1_ps(-0.5f))),
          _mm512_set1_ps(kInvSqrt2Pi));
      __m512 g = _mm512_fmadd_ps(x, pdf, cdf);
      _mm512_storeu_ps(dinp + i, _mm512_mul_ps(g, _mm512_loadu_ps(dout + i)));
    }
#elif defined(__AVX2__) && defined(__FMA__)
    for (; i + 8 <= e; i += 8) {
      __m256 x = _mm256_loadu_ps(inp + i);
      __m256 cdf = _mm256_fmadd_ps(erf8(_mm256_mul_ps(x, _mm256_set1_ps(kInvSqrt2))),
                                   _mm256_set1_ps(0.5f), _mm256_set1_ps(0.5f));
      __m256 pdf = _mm256_mul_ps(
          exp8(_mm256_mul_ps(_mm256_mul_ps(x, x), _mm256_set1_ps(-0.5f))),
          _mm256_set1_ps(kInvSqrt2Pi));
      __m256 g = _mm256_fmadd_ps(x, pdf, cdf);
      _mm256_storeu_ps(dinp + i, _mm256_mul_ps(g, _mm256_loadu_ps(dout + i)));
    }
#endif
    for (; i < e; ++i) {
      float x = inp[i];
      float cdf = std::fma(erf_approx(x * kInvSqrt2), 0.5f, 0.5f);
      float pdf = exp_approx(x * x * -0.5f) * kInvSqrt2Pi;
      dinp[i] = std::fma(x, pdf, cdf) * dout[i];
    }
  }
}

// ---- bias gradient, cross-entropy ---------------------------------------------------------------
// Rows are split into one contiguous range per thread; the per-thread column sums are added
// in thread order (a fixed order for a fixed thread count). With out, the same pass writes the
// bf16 copy of dout that the next matmuls read.
void bias_backward(float* db, bf16_t* out, const float* dout, int N, int C) {
  int nt_max = omp_get_max_threads();
  std::vector<float> part(static_cast<size_t>(nt_max) * C, 0.0f);
  int nt_used = 1;
#pragma omp parallel if(worth_threads(static_cast<int64_t>(N) * C))
  {
    int nt = omp_get_num_threads(), it = omp_get_thread_num();
#pragma omp single
    nt_used = nt;
    int64_t n0 = static_cast<int64_t>(N) * it / nt, n1 = static_cast<int64_t>(N) * (it + 1) / nt;
    float* acc = part.data() + static_cast<size_t>(it) * C;
    for (int64_t n = n0; n < n1; ++n) {
      const float* d = dout + n * C;
      if (db) {
#pragma omp simd
        for (int c = 0; c < C; ++c) acc[c] += d[c];
      }
      if (out) convert_run(out + n * C, d, C);
    }
  }
  if (db)
    for (int it = 0; it < nt_used; ++it)
      for (int c = 0; c < C; ++c) db[c] += part[static_cast<size_t>(it) * C + c];
}

void bias_backward(float* db, const float* dout, int N, int C) {
  bias_backward(db, nullptr, dout, N, C);
}

namespace {
// mean of l[v] over the tokens v of `set` (bit v = token v); set != 0
float set_mean(const float* l, uint64_t set) {
  float s = 0.0f;
  int k = 0;
  for (uint64_t m = set; m; m &= m - 1, ++k) s += l[std::countr_zero(m)];
  return k ? s / static_cast<float>(k) : 0.0f;
}
}  // namespace

double crossentropy_forward(const float* logits, const uint8_t* targets, const uint64_t* target_sets,
                            int N, int V, int* count) {
  std::vector<double> loss(N, 0.0);
#pragma omp parallel for schedule(static) if(worth_threads(static_cast<int64_t>(N) * V))
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] == 0) continue;
    const float* l = logits + n * V;
    float mx = l[0];
    for (int v = 1; v < V; ++v) mx = std::max(mx, l[v]);
    double s = 0.0;
    for (int v = 0; v < V; ++v) s += std::exp(static_cast<double>(l[v] - mx));
    const double lt = target_sets && target_sets[n] ? set_mean(l, target_sets[n]) : l[targets[n]];
    loss[n] = std::log(s) - (lt - mx);
  }
  double sum = 0.0;
  int c = 0;
  for (int n = 0; n < N; ++n) {
    sum += loss[n];
    c += targets[n] != 0;
  }
  *count = c;
  return sum;
}

void crossentropy_backward(float* dlogits, const float* logits, const uint8_t* targets,
                           const uint64_t* target_sets, float scale, int N, int V) {
#pragma omp parallel for schedule(static) if(worth_threads(static_cast<int64_t>(N) * V))
  for (int64_t n = 0; n < N; ++n) {
    float* d = dlogits + n * V;
    if (targets[n] == 0) {
      std::fill(d, d + V, 0.0f);
      continue;
    }
    const float* l = logits + n * V;
    float mx = l[0];
    for (int v = 1; v < V; ++v) mx = std::max(mx, l[v]);
    float s = 0.0f;
    for (int v = 0; v < V; ++v) {
      d[v] = std::exp(l[v] - mx);
      s += d[v];
    }
    float inv = scale / s;
    for (int v = 0; v < V; ++v) d[v] *= inv;
    if (!target_sets || !target_sets[n]) {
      d[targets[n]] -= scale;
      continue;
    }
    const uint64_t set = target_sets[n];
    const float q = scale / static_cast<float>(std::popcount(set));
    for (uint64_t m = set; m; m &= m - 1) d[std::countr_zero(m)] -= q;
  }
}

}  // namespace ogpt::model::ops
