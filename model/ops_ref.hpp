#pragma once
// Slow, obvious double-precision references for every GPT op and for the whole model's loss,
// written straight from the definitions (PyTorch / TransformerLens semantics). The tests compare
// the fast ops (model/ops.hpp, oneDNN) against these, and check gradients by finite differences
// of these. Same argument order and shape legend as model/ops.hpp.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/params.hpp"

namespace ogpt::model::ref {

// out[M,N] = a[M,K] w[K,N] (+ bias[N])
inline void matmul(double* out, const double* a, const double* w, const double* bias, int M, int K,
                   int N) {
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double s = bias ? bias[n] : 0.0;
      for (int k = 0; k < K; ++k) s += a[m * K + k] * w[k * N + n];
      out[m * N + n] = s;
    }
}

// out [N,C]; w, b may be null
inline void layernorm(double* out, const double* x, const double* w, const double* b, int N,
                      int C) {
  for (int n = 0; n < N; ++n) {
    double m = 0, v = 0;
    for (int c = 0; c < C; ++c) m += x[n * C + c];
    m /= C;
    for (int c = 0; c < C; ++c) v += (x[n * C + c] - m) * (x[n * C + c] - m);
    v /= C;
    for (int c = 0; c < C; ++c) {
      double y = (x[n * C + c] - m) / std::sqrt(v + 1e-5);
      out[n * C + c] = w ? y * w[c] + b[c] : y;
    }
  }
}

inline double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

// z [B,T,H,D] from qkv [B,T,3,H,D]; pattern [B,H,T,T] if not null
inline void attention(double* z, double* pattern, const double* qkv, int B, int T, int H, int D) {
  const int R = 3 * H * D;
  std::vector<double> s(T);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < T; ++i) {
        const double* q = qkv + (b * T + i) * R + h * D;
        double mx = -std::numeric_limits<double>::infinity();
        for (int j = 0; j <= i; ++j) {
          const double* k = qkv + (b * T + j) * R + H * D + h * D;
          double dot = 0;
          for (int c = 0; c < D; ++c) dot += q[c] * k[c];
          s[j] = dot / std::sqrt(static_cast<double>(D));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (int j = 0; j < T; ++j) {
          double p = j <= i ? s[j] / sum : 0.0;
          if (pattern) pattern[((b * H + h) * T + i) * T + j] = p;
        }
        double* zo = z + (b * T + i) * H * D + h * D;
        for (int c = 0; c < D; ++c) {
          double acc = 0;
          for (int j = 0; j <= i; ++j) acc += s[j] / sum * qkv[(b * T + j) * R + 2 * H * D + h * D + c];
          zo[c] = acc;
        }
      }
}

// mean cross-entropy over rows with target != 0 (0 if there are none); with sets, to the
// uniform distribution over the set bits of a row's set (an empty set: onehot(target))
inline double crossentropy(const double* logits, const uint8_t* targets, int N, int V,
                           const uint64_t* sets = nullptr) {
  double sum = 0;
  int count = 0;
  for (int n = 0; n < N; ++n) {
    if (!targets[n]) continue;
    double mx = logits[n * V];
    for (int v = 1; v < V; ++v) mx = std::max(mx, logits[n * V + v]);
    double s = 0;
    for (int v = 0; v < V; ++v) s += std::exp(logits[n * V + v] - mx);
    double lt = logits[n * V + targets[n]];
    if (sets && sets[n]) {
      double a = 0;
      int k = 0;
      for (int v = 0; v < V; ++v)
        if (sets[n] >> v & 1) a += logits[n * V + v], ++k;
      lt = a / k;
    }
    sum += std::log(s) + mx - lt;
    ++count;
  }
  return count ? sum / count : 0.0;
}

// The whole model in double, parameters in the ParamBlock layout (param_specs order).
// Returns the loss (0 without targets); logits [B,T,V] if not null.
inline double gpt_loss(const Config& c, const std::vector<double>& p, const uint8_t* tokens,
                       const uint8_t* targets, int B, std::vector<double>* logits = nullptr) {
  auto specs = param_specs(c);
  auto at = [&](const std::string& n) -> const double* {
    auto* s = find_spec(specs, n);
    return s ? p.data() + s->offset : nullptr;
  };
  const int T = c.n_ctx, d = c.d_model, H = c.n_heads, D = c.d_head, dm = c.d_mlp,
            V = c.d_vocab, N = B * T, hd = H * D;
  std::vector<double> x(N * d), ln(N * d), qkv(N * 3 * hd), z(N * hd), o(N * d), pre(N * dm),
      Wqkv(d * 3 * hd), bqkv(3 * hd);
  const double *WE = at("embed.W_E"), *WP = at("pos_embed.W_pos");
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < d; ++i) x[n * d + i] = WE[tokens[n] * d + i] + WP[(n % T) * d + i];
  for (int l = 0; l < c.n_layers; ++l) {
    std::string pf = "blocks." + std::to_string(l) + ".";
    layernorm(ln.data(), x.data(), at(pf + "ln1.w"), at(pf + "ln1.b"), N, d);
    // q|k|v side by side: Wqkv[k, (s*H + h)*D + c] = W_s[h, k, c]
    const char* wn[3] = {"attn.W_Q", "attn.W_K", "attn.W_V"};
    const char* bn[3] = {"attn.b_Q", "attn.b_K", "attn.b_V"};
    for (int s = 0; s < 3; ++s) {
      const double* W = at(pf + wn[s]);
      const double* bb = at(pf + bn[s]);
      for (int h = 0; h < H; ++h)
        for (int cc = 0; cc < D; ++cc) {
          bqkv[(s * H + h) * D + cc] = bb[h * D + cc];
          for (int k = 0; k < d; ++k) Wqkv[k * 3 * hd + (s * H + h) * D + cc] = W[(h * d + k) * D + cc];
        }
    }
    matmul(qkv.data(), ln.data(), Wqkv.data(), bqkv.data(), N, d, 3 * hd);
    attention(z.data(), nullptr, qkv.data(), B, T, H, D);
    matmul(o.data(), z.data(), at(pf + "attn.W_O"), at(pf + "attn.b_O"), N, hd, d);
    for (int i = 0; i < N * d; ++i) x[i] += o[i];
    layernorm(ln.data(), x.data(), at(pf + "ln2.w"), at(pf + "ln2.b"), N, d);
    matmul(pre.data(), ln.data(), at(pf + "mlp.W_in"), at(pf + "mlp.b_in"), N, d, dm);
    for (auto& v : pre) v = gelu(v);
    matmul(o.data(), pre.data(), at(pf + "mlp.W_out"), at(pf + "mlp.b_out"), N, dm, d);
    for (int i = 0; i < N * d; ++i) x[i] += o[i];
  }
  layernorm(ln.data(), x.data(), at("ln_final.w"), at("ln_final.b"), N, d);
  std::vector<double> lg(N * V);
  matmul(lg.data(), ln.data(), at("unembed.W_U"), at("unembed.b_U"), N, d, V);
  if (logits) *logits = lg;
  return targets ? crossentropy(lg.data(), targets, N, V) : 0.0;
}

}  // namespace ogpt::model::ref
