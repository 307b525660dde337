#pragma once
// The GPT's layer ops as plain functions (llm.c style): outputs, then inputs, then dimensions.
// Matmuls are not here: they run on oneDNN (model/dnnl_plan.hpp). Everything else is here,
// forward and backward, as OpenMP loops with static schedules (bit-reproducible for a fixed
// thread count: every float reduction has a fixed order; no atomics).
//
// Shape legend:
//   B = batch (games), T = positions, N = B*T rows, C = channels of the op (d_model, d_mlp, ...)
//   H = heads, D = d_head; qkv rows are [q(H*D) | k(H*D) | v(H*D)], i.e. [B,T,3,H,D]
//   V = vocabulary; pattern / scores [B,H,T,T]; z [B,T,H,D]
// "bf16_t" is the raw 16-bit storage of a bfloat16 (round-to-nearest-even from f32).
// Backward functions ADD into parameter gradients (dw, db, dW_E, ...) and into dinp where the
// comment says "+=", so the residual stream's gradient accumulates without extra passes.
#include <cstddef>
#include <cstdint>

namespace ogpt::model::ops {

using bf16_t = uint16_t;

bf16_t to_bf16(float x);  // round to nearest even (NaN stays NaN)
float from_bf16(bf16_t x);
void convert(bf16_t* out, const float* inp, size_t n);
void convert(float* out, const float* inp, size_t n);  // plain copy, so templates can call it

// out[b,t,:] = W_E[tokens[b,t],:] + W_pos[t,:]                    out [B,T,C]
void embed_forward(float* out, const uint8_t* tokens, const float* W_E, const float* W_pos, int B,
                   int T, int C);
// dW_E[tok] += dout[b,t], dW_pos[t] += dout[b,t]                    dW_E [V,C], dW_pos [T,C]
void embed_backward(float* dW_E, float* dW_pos, const float* dout, const uint8_t* tokens, int B,
                    int T, int C);

// LayerNorm over the last dim (eps 1e-5, biased variance). w, b may be null (no affine).
// out [N,C] (f32 or bf16), mean [N], rstd [N], inp [N,C]
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int N, int C);
void layernorm_forward(bf16_t* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int N, int C);
// Fused residual add + LayerNorm: resid = x + y, then out = LN(resid).
void residual_layernorm_forward(float* resid, float* out, float* mean, float* rstd, const float* x,
                                const float* y, const float* w, const float* b, int N, int C);
void residual_layernorm_forward(float* resid, bf16_t* out, float* mean, float* rstd,
                                const float* x, const float* y, const float* w, const float* b,
                                int N, int C);
// dinp += d/dinp, dw += d/dw, db += d/db (dw, db, w may be null)      dout, inp [N,C]
void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                        const float* w, const float* mean, const float* rstd, int N, int C);

// out = x + y, n elements
void residual_forward(float* out, const float* x, const float* y, size_t n);

// Causal attention. scale = 1/sqrt(D); masked scores are -inf, masked pattern entries 0.
// Fused: z [B,T,H,D] and pattern [B,H,T,T] (kept for backward) from qkv [B,T,3,H,D].
void attention_forward(float* z, float* pattern, const float* qkv, int B, int T, int H, int D);
// The same in three steps, for hooks on scores / pattern: scores -> pattern -> z.
void attention_scores(float* scores, const float* qkv, int B, int T, int H, int D);
void attention_softmax(float* pattern, const float* scores, int B, int T, int H);  // may alias
void attention_values(float* z, const float* pattern, const float* qkv, int B, int T, int H,
                      int D);
// dqkv [B,T,3,H,D] (overwritten) from dz [B,T,H,D]
void attention_backward(float* dqkv, const float* dz, const float* qkv, const float* pattern,
                        int B, int T, int H, int D);

// GELU, exact erf form: out = x * Phi(x).                           [n]
void gelu_forward(float* out, const float* inp, size_t n);
void gelu_forward(bf16_t* out, const float* inp, size_t n);
// dinp = dout * gelu'(inp) (overwritten)
void gelu_backward(float* dinp, const float* dout, const float* inp, size_t n);

// db[c] += sum_n dout[n,c]                                         dout [N,C]
void bias_backward(float* db, const float* dout, int N, int C);
// The same, also writing out [N,C] = bf16(dout) in the same pass (db may be null: convert only).
void bias_backward(float* db, bf16_t* out, const float* dout, int N, int C);

// Cross-entropy over rows whose target != 0.  logits [N,V], targets [N].
// With target_sets [N] (V <= 64; may be null), a counted row's target distribution q is uniform
// over the tokens whose bit is set (bit v = token v) instead of onehot(target): for random games
// that is the expectation of the one-hot next move, so it has the same minimiser and the same
// expected gradient with no sampling noise (the trainer's --target legal). An empty set
// (0) means onehot(target).
// Returns the summed loss; *count = number of counted rows.
double crossentropy_forward(const float* logits, const uint8_t* targets, const uint64_t* target_sets,
                            int N, int V, int* count);
// dlogits [N,V] (overwritten) = (softmax(logits) - q) * scale, 0 for target 0.
void crossentropy_backward(float* dlogits, const float* logits, const uint8_t* targets,
                           const uint64_t* target_sets, float scale, int N, int V);

// Vector math used above (AVX-512 when compiled for it; the scalar path is the reference).
float exp_approx(float x);  // relative error < 2e-7 on [-87, 88]
float erf_approx(float x);  // absolute error < 5e-7

}  // namespace ogpt::model::ops
