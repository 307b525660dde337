#include "model/ops.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 warns about its own _mm512_undefined_ps() inside the intrinsics (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ogpt::model::ops {

// Small ops stay on one thread: a parallel region costs microseconds, and far more when other
// processes compete for the cores (spinning OpenMP barriers).
inline bool worth_threads(int64_t work) { return work >= (1 << 15); }

// ---- scalar math: the same operation sequence as the AVX-512 versions below ------------------
namespace {
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kExpP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                            4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
// Abramowitz & Stegun 7.1.26
constexpr float kErfP = 0.3275911f;
constexpr float kErfA[5] = {0.254829592f, -0.284496736f, 1.421413741f, -1.453152027f,
                            1.061405429f};
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
}  // namespace

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

#if defined(__AVX512F__)
namespace {
inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Hi), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kExpP[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP[i]));
  __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(y, n);
}
inline __m512 erf16(__m512 x) {
  __m512 ax = _mm512_abs_ps(x);
  __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                           _mm512_fmadd_ps(_mm512_set1_ps(kErfP), ax, _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_set1_ps(kErfA[4]);
  for (int i = 3; i >= 0; --i) p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(kErfA[i]));
  __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)));
  __m512 y = _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(_mm512_mul_ps(p, t), e));
  // copysign: take the sign bit of x
  __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x80000000));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), sign));
}
}  // namespace
#endif

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

// ---- attention --------------------------------------------------------------------------------
// One (b, h) at a time: its q, k, v rows are D floats at stride R = 3*H*D.
namespace {
struct Head {
  const float *q, *k, *v;
  int64_t R;
};
inline Head head_of(const float* qkv, int b, int h, int T, int H, int D) {
  int64_t R = 3LL * H * D;
  const float* base = qkv + static_cast<int64_t>(b) * T * R + static_cast<int64_t>(h) * D;
  return {base, base + H * D, base + 2 * H * D, R};
}

// s [T,T]: s[t1,t2] = scale * a[t1] . b[t2] for t2 <= t1, else fill. bT is scratch [D,T].
void causal_dots(float* s, const float* a, int64_t sa, const float* b, int64_t sb, float scale,
                 float fill, int T, int D, float* bT) {
  for (int t2 = 0; t2 < T; ++t2)
    for (int c = 0; c < D; ++c) bT[c * T + t2] = b[t2 * sb + c];
  for (int t1 = 0; t1 < T; ++t1) {
    const float* at = a + t1 * sa;
    float* st = s + t1 * T;
#pragma omp simd
    for (int t2 = 0; t2 <= t1; ++t2) {
      float acc = 0.0f;
      for (int c = 0; c < D; ++c) acc += at[c] * bT[c * T + t2];
      st[t2] = acc * scale;
    }
    for (int t2 = t1 + 1; t2 < T; ++t2) st[t2] = fill;
  }
}

// Row-wise causal softmax of p [T,T] in place (entries past the diagonal become 0).
void causal_softmax(float* p, const float* s, int T) {
  for (int t1 = 0; t1 < T; ++t1) {
    const float* st = s + t1 * T;
    float* pt = p + t1 * T;
    float mx = st[0];
    for (int t2 = 1; t2 <= t1; ++t2) mx = std::max(mx, st[t2]);
    float sum = 0.0f;
    int t2 = 0;
#if defined(__AVX512F__)
    __m512 vs = _mm512_setzero_ps();
    for (; t2 + 16 <= t1 + 1; t2 += 16) {
      __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(st + t2), _mm512_set1_ps(mx)));
      _mm512_storeu_ps(pt + t2, e);
      vs = _mm512_add_ps(vs, e);
    }
    sum = _mm512_reduce_add_ps(vs);
#endif
    for (; t2 <= t1; ++t2) {
      pt[t2] = exp_approx(st[t2] - mx);
      sum += pt[t2];
    }
    float inv = 1.0f / sum;
    for (int u = 0; u <= t1; ++u) pt[u] *= inv;
    for (int u = t1 + 1; u < T; ++u) pt[u] = 0.0f;
  }
}

// out[t1] (stride so) = sum_{t2<=t1} p[t1,t2] * b[t2] (stride sb), D wide; overwrites out.
void causal_mix(float* out, int64_t so, const float* p, const float* b, int64_t sb, float scale,
                int T, int D) {
  for (int t1 = 0; t1 < T; ++t1) {
    const float* pt = p + t1 * T;
    float* ot = out + t1 * so;
#pragma omp simd
    for (int c = 0; c < D; ++c) {
      float acc = 0.0f;
      for (int t2 = 0; t2 <= t1; ++t2) acc += pt[t2] * b[t2 * sb + c];
      ot[c] = acc * scale;
    }
  }
}

// out[t2] = scale * sum_{t1>=t2} p[t1,t2] * a[t1] (the transposed mix, for dk and dv).
void causal_mix_t(float* out, int64_t so, const float* p, const float* a, int64_t sa, float scale,
                  int T, int D) {
  for (int t2 = 0; t2 < T; ++t2) {
    float* ot = out + t2 * so;
#pragma omp simd
    for (int c = 0; c < D; ++c) {
      float acc = 0.0f;
      for (int t1 = t2; t1 < T; ++t1) acc += p[t1 * T + t2] * a[t1 * sa + c];
      ot[c] = acc * scale;
    }
  }
}

template <class F>
void for_each_head(int B, int H, int T, int D, F&& f) {
#pragma omp parallel if(worth_threads(static_cast<int64_t>(B) * H * T * T * D))
  {
    std::vector<float> s1(static_cast<size_t>(T) * std::max(T, D)), s2(static_cast<size_t>(T) * T);
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < static_cast<int64_t>(B) * H; ++bh)
      f(static_cast<int>(bh / H), static_cast<int>(bh % H), s1.data(), s2.data());
  }
}
}  // namespace

void attention_forward(float* z, float* pattern, const float* qkv, int B, int T, int H, int D) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for_each_head(B, H, T, D, [&](int b, int h, float* s1, float*) {
    Head hd = head_of(qkv, b, h, T, H, D);
    float* P = pattern + (static_cast<int64_t>(b) * H + h) * T * T;
    causal_dots(P, hd.q, hd.R, hd.k, hd.R, scale, 0.0f, T, D, s1);
    causal_softmax(P, P, T);
    causal_mix(z + static_cast<int64_t>(b) * T * H * D + h * D, H * D, P, hd.v, hd.R, 1.0f, T, D);
  });
}

void attention_scores(float* scores, const float* qkv, int B, int T, int H, int D) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for_each_head(B, H, T, D, [&](int b, int h, float* s1, float*) {
    Head hd = head_of(qkv, b, h, T, H, D);
    float* S = scores + (static_cast<int64_t>(b) * H + h) * T * T;
    causal_dots(S, hd.q, hd.R, hd.k, hd.R, scale, -std::numeric_limits<float>::infinity(), T, D,
                s1);
  });
}

void attention_softmax(float* pattern, const float* scores, int B, int T, int H) {
#pragma omp parallel for schedule(static) if(worth_threads(static_cast<int64_t>(B) * H * T * T))
  for (int64_t bh = 0; bh < static_cast<int64_t>(B) * H; ++bh)
    causal_softmax(pattern + bh * T * T, scores + bh * T * T, T);
}

void attention_values(float* z, const float* pattern, const float* qkv, int B, int T, int H,
                      int D) {
  for_each_head(B, H, T, D, [&](int b, int h, float*, float*) {
    Head hd = head_of(qkv, b, h, T, H, D);
    const float* P = pattern + (static_cast<int64_t>(b) * H + h) * T * T;
    causal_mix(z + static_cast<int64_t>(b) * T * H * D + h * D, H * D, P, hd.v, hd.R, 1.0f, T, D);
  });
}

void attention_backward(float* dqkv, const float* dz, const float* qkv, const float* pattern,
                        int B, int T, int H, int D) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for_each_head(B, H, T, D, [&](int b, int h, float* s1, float* dS) {
    Head hd = head_of(qkv, b, h, T, H, D);
    Head dh = head_of(dqkv, b, h, T, H, D);
    float *dq = const_cast<float*>(dh.q), *dk = const_cast<float*>(dh.k),
          *dv = const_cast<float*>(dh.v);
    const float* P = pattern + (static_cast<int64_t>(b) * H + h) * T * T;
    const float* dzb = dz + static_cast<int64_t>(b) * T * H * D + h * D;
    // dP = dz v^T (causal), then dS = P * (dP - rowsum(P * dP))
    causal_dots(dS, dzb, H * D, hd.v, hd.R, 1.0f, 0.0f, T, D, s1);
    for (int t1 = 0; t1 < T; ++t1) {
      const float* pt = P + t1 * T;
      float* st = dS + t1 * T;
      float dot = 0.0f;
      for (int t2 = 0; t2 <= t1; ++t2) dot += pt[t2] * st[t2];
#pragma omp simd
      for (int t2 = 0; t2 <= t1; ++t2) st[t2] = pt[t2] * (st[t2] - dot);
    }
    causal_mix(dq, hd.R, dS, hd.k, hd.R, scale, T, D);
    causal_mix_t(dk, hd.R, dS, hd.q, hd.R, scale, T, D);
    causal_mix_t(dv, hd.R, P, dzb, H * D, 1.0f, T, D);
  });
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
void bias_backward(float* db, const float* dout, int N, int C) {
#pragma omp parallel if(worth_threads(static_cast<int64_t>(N) * C))
  {
    int nt = omp_get_num_threads(), it = omp_get_thread_num();
    int c0 = C * it / nt, c1 = C * (it + 1) / nt;
    if (c1 > c0) {
      std::vector<float> acc(c1 - c0, 0.0f);
      for (int64_t n = 0; n < N; ++n) {
        const float* d = dout + n * C + c0;
        float* a = acc.data();
#pragma omp simd
        for (int c = 0; c < c1 - c0; ++c) a[c] += d[c];
      }
      for (int c = c0; c < c1; ++c) db[c] += acc[c - c0];
    }
  }
}

double crossentropy_forward(const float* logits, const uint8_t* targets, int N, int V,
                            int* count) {
  std::vector<double> loss(N, 0.0);
#pragma omp parallel for schedule(static) if(worth_threads(static_cast<int64_t>(N) * V))
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] == 0) continue;
    const float* l = logits + n * V;
    float mx = l[0];
    for (int v = 1; v < V; ++v) mx = std::max(mx, l[v]);
    double s = 0.0;
    for (int v = 0; v < V; ++v) s += std::exp(static_cast<double>(l[v] - mx));
    loss[n] = std::log(s) - (l[targets[n]] - mx);
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
                           float scale, int N, int V) {
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
    d[targets[n]] -= scale;
  }
}

}  // namespace ogpt::model::ops
