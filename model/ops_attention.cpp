// Causal multi-head attention (declared in model/ops.hpp), one (game, head) at a time.
//
// Per head everything fits in L1/L2: q, k, v are T rows of D floats at stride R = 3*H*D inside
// qkv. The T x T products run on two small register-blocked kernels (4 rows x up to 64 columns
// of accumulators), on local row buffers padded to TP = T rounded up to 16 columns:
//   tile_abt: S[i, j] = scale * sum_c A[i, c] * BT[c, j]   (BT = a transposed k or v, [D, TP])
//             only the column vectors up to the diagonal are computed (causal).
//   tile_ab:  O[i, c] = scale * sum_j A(i, j) * Bm[j, c]   (j over the causal range: j <= i for
//             "lower" A such as the pattern, j >= i for "upper" A such as its transpose)
// A(i, j) is read through two strides, so transposed operands need no copies.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "model/ops.hpp"
#include "model/simd_math.hpp"

namespace ogpt::model::ops {

namespace {

constexpr int kRows = 6;  // rows per register block

inline int pad16(int n) { return (n + 15) / 16 * 16; }

#if defined(__AVX512F__)
template <int NV>
void abt_block(float* S, int ls, const float* A, int64_t sa, const float* BT, int lb, float scale,
               int i0, int rows, int jv0, int D) {
  __m512 acc[kRows][NV];
  const float* ar[kRows];
  for (int r = 0; r < kRows; ++r) {
    ar[r] = A + (i0 + std::min(r, rows - 1)) * sa;  // spare rows repeat the last (not stored)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (int c = 0; c < D; ++c) {
    __m512 b[NV];
    for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(BT + c * lb + (jv0 + v) * 16);
    for (int r = 0; r < kRows; ++r) {
      __m512 a = _mm512_set1_ps(ar[r][c]);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
    }
  }
  const __m512 s = _mm512_set1_ps(scale);
  for (int r = 0; r < rows; ++r)
    for (int v = 0; v < NV; ++v)
      _mm512_storeu_ps(S + (i0 + r) * ls + (jv0 + v) * 16, _mm512_mul_ps(acc[r][v], s));
}

template <int NV, bool kMasked>
void ab_block(float* O, int64_t so, const float* A, int64_t ai, int64_t aj, const float* Bm,
              int64_t sb, float scale, int i0, int rows, int j0, int j1, int c0, __mmask16 last) {
  __m512 acc[kRows][NV];
  const float* ar[kRows];
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) {
    ar[r] = A + (i0 + std::min(r, rows - 1)) * ai;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (int j = j0; j < j1; ++j) {
    __m512 b[NV];
    const float* bj = Bm + j * sb + c0;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      b[v] = (kMasked && v == NV - 1) ? _mm512_maskz_loadu_ps(last, bj + 16 * v)
                                      : _mm512_loadu_ps(bj + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
      __m512 a = _mm512_set1_ps(ar[r][j * aj]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
    }
  }
  const __m512 s = _mm512_set1_ps(scale);
  for (int r = 0; r < rows; ++r) {
    float* o = O + (i0 + r) * so + c0;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if (kMasked && v == NV - 1)
        _mm512_mask_storeu_ps(o + 16 * v, last, _mm512_mul_ps(acc[r][v], s));
      else
        _mm512_storeu_ps(o + 16 * v, _mm512_mul_ps(acc[r][v], s));
    }
  }
}
#endif

// S [T, ls] for rows i < T, columns 0 .. (last vector holding column i); other columns unset.
void tile_abt(float* S, int ls, const float* A, int64_t sa, const float* BT, int lb, float scale,
              int T, int D) {
  for (int i0 = 0; i0 < T; i0 += kRows) {
    int rows = std::min(kRows, T - i0);
    int nvec = (i0 + rows - 1) / 16 + 1;
#if defined(__AVX512F__)
    for (int jv = 0; jv < nvec; jv += 4) {
      switch (std::min(4, nvec - jv)) {
        case 1: abt_block<1>(S, ls, A, sa, BT, lb, scale, i0, rows, jv, D); break;
        case 2: abt_block<2>(S, ls, A, sa, BT, lb, scale, i0, rows, jv, D); break;
        case 3: abt_block<3>(S, ls, A, sa, BT, lb, scale, i0, rows, jv, D); break;
        default: abt_block<4>(S, ls, A, sa, BT, lb, scale, i0, rows, jv, D); break;
      }
    }
#else
    // j innermost over contiguous rows of BT: the compiler vectorises it (AVX2 on CPUs without
    // AVX-512), and the row of S stays in L1 as the accumulator.
    const int nj = nvec * 16;
    for (int i = i0; i < i0 + rows; ++i) {
      float* __restrict srow = S + i * ls;
      for (int j = 0; j < nj; ++j) srow[j] = 0.0f;
      for (int c = 0; c < D; ++c) {
        const float a = A[i * sa + c];
        const float* __restrict b = BT + c * lb;
        for (int j = 0; j < nj; ++j) srow[j] += a * b[j];
      }
      for (int j = 0; j < nj; ++j) srow[j] *= scale;
    }
#endif
  }
}

// O[i, 0:D] = scale * sum_j A(i,j) Bm[j, 0:D]; A(i,j) = A[i*ai + j*aj], zero outside the causal
// range: j <= i when lower, j >= i otherwise.
void tile_ab(float* O, int64_t so, const float* A, int64_t ai, int64_t aj, bool lower,
             const float* Bm, int64_t sb, float scale, int T, int D) {
  for (int i0 = 0; i0 < T; i0 += kRows) {
    int rows = std::min(kRows, T - i0);
    int j0 = lower ? 0 : i0, j1 = lower ? i0 + rows : T;
#if defined(__AVX512F__)
    for (int c0 = 0; c0 < D; c0 += 64) {
      int nv = std::min(4, (D - c0 + 15) / 16);
      int tail = (D - c0) - 16 * (nv - 1);
      __mmask16 last = tail >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << tail) - 1);
      if (last == 0xFFFF) {
        switch (nv) {
          case 1: ab_block<1, false>(O, so, A, ai, aj, Bm, sb, scale, i0, rows, j0, j1, c0, last); break;
          case 2: ab_block<2, false>(O, so, A, ai, aj, Bm, sb, scale, i0, rows, j0, j1, c0, last); break;
          case 3: ab_block<3, false>(O, so, A, ai, aj, Bm, sb, scale, i0, rows, j0, j1, c0, last); break;
          default: ab_block<4, false>(O, so, A, ai, aj, Bm, sb, scale, i0, rows, j0, j1, c0, last); break;
        }
      } else {
        switch (nv) {
          case 1: ab_block<1, true>(O, so, A, ai, aj, Bm, sb, scale, i0, rows, j0, j1, c0, last); break;
          case 2: ab_block<2, true>(O, so, A, ai, aj, Bm, sb, scale, i0, rows, j0, j1, c0, last); break;
          case 3: ab_block<3, true>(O, so, A, ai, aj, Bm, sb, scale, i0, rows, j0, j1, c0, last); break;
          default: ab_block<4, true>(O, so, A, ai, aj, Bm, sb, scale, i0, rows, j0, j1, c0, last); break;
        }
      }
    }
#else
    // c innermost over contiguous rows of Bm (vectorised), as in tile_abt.
    for (int i = i0; i < i0 + rows; ++i) {
      float* __restrict orow = O + i * so;
      for (int c = 0; c < D; ++c) orow[c] = 0.0f;
      const int lo = lower ? j0 : std::max(j0, i), hi = lower ? std::min(j1, i + 1) : j1;
      for (int j = lo; j < hi; ++j) {
        const float a = A[i * ai + j * aj];
        const float* __restrict b = Bm + j * sb;
        for (int c = 0; c < D; ++c) orow[c] += a * b[c];
      }
      for (int c = 0; c < D; ++c) orow[c] *= scale;
    }
#endif
  }
}

// BT [D, TP] = B[T, D] (packed, row stride D) transposed, zero padded.
void transpose_pad(float* BT, const float* B, int T, int TP, int D) {
#if defined(__AVX512F__)
  const __m512i rows = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(D));
  for (int j0 = 0; j0 < TP; j0 += 16) {
    __mmask16 m = T - j0 >= 16 ? 0xFFFF : T - j0 <= 0 ? 0 : static_cast<__mmask16>((1u << (T - j0)) - 1);
    const float* src = B + static_cast<int64_t>(j0) * D;
    for (int c = 0; c < D; ++c)
      _mm512_storeu_ps(BT + c * TP + j0,
                       _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, rows, src + c, 4));
  }
#else
  for (int c = 0; c < D; ++c) {
    float* row = BT + c * TP;
    for (int j = 0; j < T; ++j) row[j] = B[j * D + c];
    for (int j = T; j < TP; ++j) row[j] = 0.0f;
  }
#endif
}

// p[0:TP] = softmax(s[0:i+1]) with zeros after column i (p may alias s).
void softmax_row(float* p, const float* s, int i, int TP) {
#if defined(__AVX512F__)
  const int nv = i / 16 + 1;  // vectors holding columns 0..i
  auto lanes = [&](int v) -> __mmask16 {
    int n = i + 1 - 16 * v;
    return n >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << n) - 1);
  };
  __m512 mx = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  // Masked loads: s may be an unpadded [T,T] row (attention_softmax), so nothing past column i
  // is read.
  for (int v = 0; v < nv; ++v)
    mx = _mm512_mask_max_ps(mx, lanes(v), mx, _mm512_maskz_loadu_ps(lanes(v), s + 16 * v));
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (int v = 0; v < nv; ++v) {
    __m512 e = _mm512_maskz_mov_ps(
        lanes(v), simd::exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes(v), s + 16 * v), m)));
    _mm512_storeu_ps(p + 16 * v, e);
    sum = _mm512_add_ps(sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int v = 0; v < nv; ++v) _mm512_storeu_ps(p + 16 * v, _mm512_mul_ps(_mm512_loadu_ps(p + 16 * v), inv));
  for (int v = nv; v < TP / 16; ++v) _mm512_storeu_ps(p + 16 * v, _mm512_setzero_ps());
#else
  float mx = s[0];
  for (int j = 1; j <= i; ++j) mx = std::max(mx, s[j]);
  float sum = 0.0f;
  int j = 0;
#if defined(__AVX2__) && defined(__FMA__)
  __m256 acc = _mm256_setzero_ps();
  for (; j + 8 <= i + 1; j += 8) {
    __m256 e = simd::exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), _mm256_set1_ps(mx)));
    _mm256_storeu_ps(p + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  alignas(32) float lane[8];
  _mm256_store_ps(lane, acc);
  for (float x : lane) sum += x;
#endif
  for (; j <= i; ++j) {
    p[j] = exp_approx(s[j] - mx);
    sum += p[j];
  }
  float inv = 1.0f / sum;
  for (int u = 0; u <= i; ++u) p[u] *= inv;
  for (int u = i + 1; u < TP; ++u) p[u] = 0.0f;
#endif
}

// Softmax backward on one padded row: s = p * (s - sum(p * s)); p is zero past column i, and
// entries of s past the diagonal vector are stale, so only vectors up to it are read.
void softmax_backward_row(float* s, const float* p, int i, int TP) {
#if defined(__AVX512F__)
  const int nv = i / 16 + 1;
  __m512 acc = _mm512_setzero_ps();
  for (int v = 0; v < nv; ++v)
    acc = _mm512_fmadd_ps(_mm512_loadu_ps(p + 16 * v), _mm512_loadu_ps(s + 16 * v), acc);
  const __m512 dot = _mm512_set1_ps(_mm512_reduce_add_ps(acc));
  for (int v = 0; v < nv; ++v)
    _mm512_storeu_ps(s + 16 * v, _mm512_mul_ps(_mm512_loadu_ps(p + 16 * v),
                                               _mm512_sub_ps(_mm512_loadu_ps(s + 16 * v), dot)));
  for (int v = nv; v < TP / 16; ++v) _mm512_storeu_ps(s + 16 * v, _mm512_setzero_ps());
#else
  float dot = 0.0f;
  for (int j = 0; j <= i; ++j) dot += p[j] * s[j];
  for (int j = 0; j <= i; ++j) s[j] = p[j] * (s[j] - dot);
  for (int j = i + 1; j < TP; ++j) s[j] = 0.0f;
#endif
}

struct Head {
  const float *q, *k, *v;
  int64_t R;
};
inline Head head_of(const float* qkv, int b, int h, int T, int H, int D) {
  int64_t R = 3LL * H * D;
  const float* base = qkv + static_cast<int64_t>(b) * T * R + static_cast<int64_t>(h) * D;
  return {base, base + H * D, base + 2 * H * D, R};
}

// Scratch per thread: kTiles tiles of max(TP, D) x TP floats.
constexpr int kTiles = 8;
template <class F>
void for_each_head(int B, int H, int T, int D, F&& f) {
  const int TP = pad16(T);
  const size_t tile = static_cast<size_t>(std::max(TP, D)) * TP;
  const int64_t work = static_cast<int64_t>(B) * H * T * T * D;
#pragma omp parallel if (work >= (1 << 15))
  {
    std::vector<float> scratch(kTiles * tile + 16);
    float* t[kTiles];
    for (int i = 0; i < kTiles; ++i) t[i] = scratch.data() + i * tile;
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < static_cast<int64_t>(B) * H; ++bh)
      f(static_cast<int>(bh / H), static_cast<int>(bh % H), t);
  }
}

// The rows of one head sit at a stride of 3*H*D floats (a multiple of 1 KiB for the presets),
// which maps them onto a few L1 sets; the kernels work on packed [T, D] copies instead.
void gather_rows(float* dst, const float* src, int64_t stride, int T, int D) {
  for (int i = 0; i < T; ++i) std::memcpy(dst + i * D, src + i * stride, D * sizeof(float));
}
void scatter_rows(float* dst, int64_t stride, const float* src, int T, int D) {
  for (int i = 0; i < T; ++i) std::memcpy(dst + i * stride, src + i * D, D * sizeof(float));
}

inline float* head_tile(float* x, int b, int h, int H, int T) {
  return x + (static_cast<int64_t>(b) * H + h) * T * T;
}

}  // namespace

void attention_forward(float* z, float* pattern, const float* qkv, int B, int T, int H, int D) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int TP = pad16(T);
  for_each_head(B, H, T, D, [&](int b, int h, float** t) {
    float *q = t[0], *v = t[1], *kT = t[2], *P = t[3], *out = t[4], *k = t[5];
    Head hd = head_of(qkv, b, h, T, H, D);
    gather_rows(q, hd.q, hd.R, T, D);
    gather_rows(k, hd.k, hd.R, T, D);
    gather_rows(v, hd.v, hd.R, T, D);
    transpose_pad(kT, k, T, TP, D);
    tile_abt(P, TP, q, D, kT, TP, scale, T, D);
    float* pat = head_tile(pattern, b, h, H, T);
    for (int i = 0; i < T; ++i) {
      softmax_row(P + i * TP, P + i * TP, i, TP);
      std::memcpy(pat + i * T, P + i * TP, T * sizeof(float));
    }
    tile_ab(out, D, P, TP, 1, true, v, D, 1.0f, T, D);
    scatter_rows(z + static_cast<int64_t>(b) * T * H * D + h * D, H * D, out, T, D);
  });
}

void attention_scores(float* scores, const float* qkv, int B, int T, int H, int D) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int TP = pad16(T);
  const float ninf = -std::numeric_limits<float>::infinity();
  for_each_head(B, H, T, D, [&](int b, int h, float** t) {
    float *q = t[0], *kT = t[1], *S = t[2], *k = t[3];
    Head hd = head_of(qkv, b, h, T, H, D);
    gather_rows(q, hd.q, hd.R, T, D);
    gather_rows(k, hd.k, hd.R, T, D);
    transpose_pad(kT, k, T, TP, D);
    tile_abt(S, TP, q, D, kT, TP, scale, T, D);
    float* out = head_tile(scores, b, h, H, T);
    for (int i = 0; i < T; ++i)
      for (int j = 0; j < T; ++j) out[i * T + j] = j <= i ? S[i * TP + j] : ninf;
  });
}

void attention_softmax(float* pattern, const float* scores, int B, int T, int H) {
  const int TP = pad16(T);
  for_each_head(B, H, T, 1, [&](int b, int h, float** t) {
    const float* s = scores + (static_cast<int64_t>(b) * H + h) * T * T;
    float* p = head_tile(pattern, b, h, H, T);
    for (int i = 0; i < T; ++i) {
      softmax_row(t[0], s + i * T, i, TP);
      std::memcpy(p + i * T, t[0], T * sizeof(float));
    }
  });
}

void attention_values(float* z, const float* pattern, const float* qkv, int B, int T, int H,
                      int D) {
  for_each_head(B, H, T, D, [&](int b, int h, float** t) {
    float *v = t[0], *out = t[1];
    Head hd = head_of(qkv, b, h, T, H, D);
    gather_rows(v, hd.v, hd.R, T, D);
    const float* P = pattern + (static_cast<int64_t>(b) * H + h) * T * T;
    tile_ab(out, D, P, T, 1, true, v, D, 1.0f, T, D);
    scatter_rows(z + static_cast<int64_t>(b) * T * H * D + h * D, H * D, out, T, D);
  });
}

void attention_backward(float* dqkv, const float* dz, const float* qkv, const float* pattern,
                        int B, int T, int H, int D) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int TP = pad16(T);
  for_each_head(B, H, T, D, [&](int b, int h, float** t) {
    float *q = t[0], *k = t[1], *dzl = t[2], *vT = t[3], *P = t[4], *dS = t[5], *out = t[6],
          *v = t[7];
    Head hd = head_of(qkv, b, h, T, H, D);
    Head dh = head_of(dqkv, b, h, T, H, D);
    const float* Pg = pattern + (static_cast<int64_t>(b) * H + h) * T * T;
    gather_rows(q, hd.q, hd.R, T, D);
    gather_rows(k, hd.k, hd.R, T, D);
    gather_rows(dzl, dz + static_cast<int64_t>(b) * T * H * D + h * D, H * D, T, D);
    gather_rows(v, hd.v, hd.R, T, D);
    transpose_pad(vT, v, T, TP, D);
    // dP = dz v^T (causal part), then dS = P * (dP - rowsum(P * dP)); P is zero past the
    // diagonal, so dS is too.
    tile_abt(dS, TP, dzl, D, vT, TP, 1.0f, T, D);
    for (int i = 0; i < T; ++i) {
      float* p = P + i * TP;
      std::memcpy(p, Pg + i * T, T * sizeof(float));
      std::fill(p + T, p + TP, 0.0f);
      softmax_backward_row(dS + i * TP, p, i, TP);
    }
    float* dq = const_cast<float*>(dh.q);
    float* dk = const_cast<float*>(dh.k);
    float* dv = const_cast<float*>(dh.v);
    tile_ab(out, D, dS, TP, 1, true, k, D, scale, T, D);  // dq = dS k
    scatter_rows(dq, hd.R, out, T, D);
    tile_ab(out, D, dS, 1, TP, false, q, D, scale, T, D);  // dk = dS^T q
    scatter_rows(dk, hd.R, out, T, D);
    tile_ab(out, D, P, 1, TP, false, dzl, D, 1.0f, T, D);  // dv = P^T dz
    scatter_rows(dv, hd.R, out, T, D);
  });
}

}  // namespace ogpt::model::ops
