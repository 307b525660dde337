#pragma once
// Every oneDNN primitive descriptor the GPT uses is created in this file and dnnl_plan.cpp, so
// an API change (oneDNN v2 -> v3: matmul::desc disappears, descriptors go straight into
// primitive_desc) touches one small place. Plans are built once per row count and executed many
// times. Transposed operands are expressed through memory-descriptor strides, never copied.
#include <cstdint>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include "model/config.hpp"

namespace ogpt::model {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// Whether oneDNN has a bf16 matmul on this CPU (AVX512-BF16 or AMX; oneDNN 2.6 has none for
// AVX2-only CPUs such as AMD Zen 3). Asked once by creating a small primitive descriptor.
bool bf16_matmul_supported();

// C[M,N] (f32, row-major) (+)= A[M,K] * B[K,N] (+ bias[N], f32).
// a_trans: A is stored as [K,M] row-major; b_trans: B is stored as [N,K] row-major.
// A and B are f32 or bf16 (both the same); accumulate adds into C (a sum post-op).
// gelu applies exact (erf) GELU to the result (a post-op); c_low then stores C in the input
// type (bf16 when the inputs are bf16) instead of f32.
struct MatmulShape {
  int64_t M = 0, K = 0, N = 0;
  bool a_trans = false, b_trans = false, bias = false, accumulate = false;
  bool gelu = false, c_low = false;
};

class Matmul {
 public:
  Matmul() = default;
  Matmul(const MatmulShape& s, bool bf16);
  void run(const void* A, const void* B, const float* bias, void* C) const;
  std::string impl() const;  // oneDNN's implementation name, e.g. "brg:avx512_core_bf16"
  const MatmulShape& shape() const { return s_; }

 private:
  MatmulShape s_;
  dnnl::memory::desc a_md_, b_md_, bias_md_, c_md_;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul prim_;
};

// A weight gradient dW[K,N] = X^T dY (X: [M,K], dY: [M,N]). transposed: the matmul computes
// dW^T[N,K] = dY^T X instead (run(dY, X)); oneDNN 2.6's f32 gemm on AVX2 runs a tall output
// (K > N, e.g. W_out's [d_mlp, d_model]) at half the speed of the wide one (measured on Zen 3:
// 50 vs 90 GFLOP/s for [1024,256] over 7552 rows).
struct WeightGrad {
  Matmul mm;
  bool transposed = false;
};

// The matmuls of one forward/backward of a GPT at M = B*T rows (shared by all layers).
struct GptPlan {
  int64_t M = 0;
  // forward: qkv = ln1 Wqkv + b; attn_out = z W_O + b_O; pre = ln2 W_in + b_in;
  //          mlp_out = post W_out + b_out; logits = lnf W_U (+ b_U)
  Matmul qkv, attn_out, mlp_in, mlp_out, unembed;
  Matmul mlp_in_gelu;  // inference: post = gelu(ln2 W_in + b_in) straight into the matmul type
  // backward, inputs: dX = dY W^T
  Matmul qkv_dx, attn_out_dx, mlp_in_dx, mlp_out_dx, unembed_dx;
  // backward, weights: dW = X^T dY into a scratch (qkv_dw: fused [d,3*h*dh]), added in after
  WeightGrad qkv_dw, attn_out_dw, mlp_in_dw, mlp_out_dw, unembed_dw;
};

GptPlan make_gpt_plan(const Config& c, int64_t M, bool bf16, bool with_backward);

// The three f32 products of one Newton-Schulz iteration (Muon, muon.hpp) on X [m x n], m <= n:
// A[m,m] = X X^T (X read transposed through strides), A2[m,m] = A A, Y[m,n] = B X. (bf16 inputs
// were measured no faster for these shapes: 180 ms for all of 8x256's matrices either way.)
struct NewtonSchulzPlan {
  int64_t m = 0, n = 0;
  Matmul xxt, aa, bx;
};
NewtonSchulzPlan make_newton_schulz_plan(int64_t m, int64_t n);

}  // namespace ogpt::model
