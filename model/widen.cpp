// Function-preserving widening; model/widen.hpp says what each weight becomes and why.
#include "model/widen.hpp"

#include <cmath>
#include <random>
#include <string>

#include "util/error.hpp"

namespace ogpt::model {

std::string widening_problem(const Config& from, const Config& to) {
  const std::string what = "cannot widen " + from.describe() + " to " + to.describe() + ": ";
  if (to == from) return what + "it has that shape already";
  if (to.n_layers != from.n_layers) return what + "the layer count must match (depth is not widened)";
  if (to.n_heads != from.n_heads) return what + "the head count must match";
  if (to.d_vocab != from.d_vocab || to.n_ctx != from.n_ctx) return what + "d_vocab and n_ctx must match";
  if (to.has_ln_weights != from.has_ln_weights || to.has_unembed_bias != from.has_unembed_bias)
    return what + "LayerNorm weights and the unembed bias must be present in both or in neither "
                  "(a TransformerLens model with LayerNorm folded in has none)";
  if (to.d_model < from.d_model || to.d_model % from.d_model != 0)
    return what + "d_model must be a whole multiple of " + std::to_string(from.d_model);
  if (to.d_head < from.d_head) return what + "d_head cannot shrink";
  if (to.d_mlp < from.d_mlp) return what + "d_mlp cannot shrink";
  return "";
}

void check_widening(const Config& from, const Config& to) {
  if (std::string why = widening_problem(from, to); !why.empty()) throw UserError(why, kUsage);
}

namespace {

// Shapes in floats; row-major as in model/params.hpp.
struct Widener {
  const Config &a, &b;  // from, to
  int k;                // copies of the residual stream
  float noise;
  std::mt19937_64 rng;
  std::normal_distribution<float> normal{0.0f, 1.0f};  // (a stddev of 0 is not allowed)

  Widener(const Config& from, const Config& to, float noise_std, uint64_t seed)
      : a(from), b(to), k(to.d_model / from.d_model), noise(noise_std), rng(seed) {}

  float draw() { return noise > 0 ? noise * normal(rng) : 0.0f; }

  // A vector on the residual stream [d] -> [k*d]: k copies.
  void copy_stream(float* dst, const float* src, int rows = 1) {
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < k; ++c)
        for (int i = 0; i < a.d_model; ++i) dst[(size_t)r * b.d_model + c * a.d_model + i] = src[(size_t)r * a.d_model + i];
  }

  // One reader column: dst[c*d + i] (stride ds between rows) sums to src[i] (stride ss) over c.
  void split(float* dst, size_t ds, const float* src, size_t ss) {
    for (int i = 0; i < a.d_model; ++i) {
      float rest = 0;
      for (int c = 1; c < k; ++c) {
        float n = draw();
        dst[(size_t)(c * a.d_model + i) * ds] = n;
        rest += n;
      }
      dst[(size_t)i * ds] = src[(size_t)i * ss] - rest;
    }
  }
  // A reader column of a new unit: noise on every copy.
  void fresh(float* dst, size_t ds) {
    for (int r = 0; r < b.d_model; ++r) dst[(size_t)r * ds] = draw();
  }

  // W_Q/W_K/W_V [h,d,dh] -> [h,d',dh']. New columns: noise, or 0 for keys (new_zero).
  void attn_in(float* dst, const float* src, float scale, bool new_zero) {
    for (int h = 0; h < a.n_heads; ++h) {
      float* head_dst = dst + (size_t)h * b.d_model * b.d_head;
      const float* head_src = src + (size_t)h * a.d_model * a.d_head;
      for (int j = 0; j < b.d_head; ++j) {
        if (j < a.d_head) {
          split(head_dst + j, b.d_head, head_src + j, a.d_head);
          if (scale != 1.0f)
            for (int r = 0; r < b.d_model; ++r) head_dst[(size_t)r * b.d_head + j] *= scale;
        } else if (!new_zero) {
          fresh(head_dst + j, b.d_head);
        }
      }
    }
  }
  // b_Q/b_K/b_V [h,dh] -> [h,dh']: old entries (scaled), new 0.
  void attn_bias(float* dst, const float* src, float scale) {
    for (int h = 0; h < a.n_heads; ++h)
      for (int j = 0; j < a.d_head; ++j) dst[(size_t)h * b.d_head + j] = src[(size_t)h * a.d_head + j] * scale;
  }
};

}  // namespace

ParamBlock widen_params(const ParamBlock& from, const Config& to, float noise, uint64_t seed) {
  check_widening(from.cfg, to);
  ParamBlock out(to);
  out.zero();
  Widener wd(from.cfg, to, noise, seed);
  const Config& a = from.cfg;
  const Weights& in = from.w;

  wd.copy_stream(out.w.W_E, in.W_E, a.d_vocab);
  wd.copy_stream(out.w.W_pos, in.W_pos, a.n_ctx);
  const float q_scale = std::sqrt(static_cast<float>(to.d_head) / static_cast<float>(a.d_head));
  for (int l = 0; l < a.n_layers; ++l) {
    const BlockWeights& src = in.blocks[l];
    BlockWeights& dst = out.w.blocks[l];
    if (a.has_ln_weights) {
      wd.copy_stream(dst.ln1_w, src.ln1_w);
      wd.copy_stream(dst.ln1_b, src.ln1_b);
      wd.copy_stream(dst.ln2_w, src.ln2_w);
      wd.copy_stream(dst.ln2_b, src.ln2_b);
    }
    wd.attn_in(dst.W_Q, src.W_Q, q_scale, false);
    wd.attn_in(dst.W_K, src.W_K, 1.0f, true);
    wd.attn_in(dst.W_V, src.W_V, 1.0f, false);
    wd.attn_bias(dst.b_Q, src.b_Q, q_scale);
    wd.attn_bias(dst.b_K, src.b_K, 1.0f);
    wd.attn_bias(dst.b_V, src.b_V, 1.0f);
    for (int h = 0; h < a.n_heads; ++h)  // W_O [h,dh,d]: old rows copied, new rows 0
      wd.copy_stream(dst.W_O + (size_t)h * to.d_head * to.d_model, src.W_O + (size_t)h * a.d_head * a.d_model,
                    a.d_head);
    wd.copy_stream(dst.b_O, src.b_O);
    for (int m = 0; m < to.d_mlp; ++m) {  // W_in [d,dm]: old neurons split, new ones noise
      if (m < a.d_mlp) {
        wd.split(dst.W_in + m, to.d_mlp, src.W_in + m, a.d_mlp);
        dst.b_in[m] = src.b_in[m];
      } else {
        wd.fresh(dst.W_in + m, to.d_mlp);
      }
    }
    wd.copy_stream(dst.W_out, src.W_out, a.d_mlp);  // W_out [dm,d]: new rows stay 0
    wd.copy_stream(dst.b_out, src.b_out);
  }
  if (a.has_ln_weights) {
    wd.copy_stream(out.w.ln_final_w, in.ln_final_w);
    wd.copy_stream(out.w.ln_final_b, in.ln_final_b);
  }
  for (int v = 0; v < a.d_vocab; ++v) wd.split(out.w.W_U + v, to.d_vocab, in.W_U + v, a.d_vocab);
  if (a.has_unembed_bias)
    for (int v = 0; v < a.d_vocab; ++v) out.w.b_U[v] = in.b_U[v];
  return out;
}

}  // namespace ogpt::model
