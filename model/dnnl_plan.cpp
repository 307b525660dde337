#include "model/dnnl_plan.hpp"

namespace ogpt::model {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream s(cpu_engine());
  return s;
}

bool bf16_matmul_supported() {
  static const bool ok = [] {
    try {
      dnnl::memory::desc a({64, 64}, dt::bf16, dims{64, 1}), c({64, 64}, dt::f32, dims{64, 1});
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, a, c), cpu_engine());
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return ok;
}

Matmul::Matmul(const MatmulShape& s, bool bf16) : s_(s) {
  const dt in = bf16 ? dt::bf16 : dt::f32;
  a_md_ = dnnl::memory::desc({s.M, s.K}, in, s.a_trans ? dims{1, s.M} : dims{s.K, 1});
  b_md_ = dnnl::memory::desc({s.K, s.N}, in, s.b_trans ? dims{1, s.K} : dims{s.N, 1});
  c_md_ = dnnl::memory::desc({s.M, s.N}, s.c_low ? in : dt::f32, dims{s.N, 1});
  if (s.bias) bias_md_ = dnnl::memory::desc({1, s.N}, dt::f32, dims{s.N, 1});
  dnnl::primitive_attr attr;
  dnnl::post_ops po;
  if (s.accumulate) po.append_sum(1.0f);
  if (s.gelu) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  attr.set_post_ops(po);
  // v2 API: operation descriptor, then primitive descriptor (v3 merges the two).
  auto desc = s.bias ? dnnl::matmul::desc(a_md_, b_md_, bias_md_, c_md_)
                     : dnnl::matmul::desc(a_md_, b_md_, c_md_);
  pd_ = dnnl::matmul::primitive_desc(desc, attr, cpu_engine());
  prim_ = dnnl::matmul(pd_);
}

void Matmul::run(const void* A, const void* B, const float* bias, void* C) const {
  auto& eng = cpu_engine();
  dnnl::memory a(a_md_, eng, const_cast<void*>(A));
  dnnl::memory b(b_md_, eng, const_cast<void*>(B));
  dnnl::memory c(c_md_, eng, C);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
  if (s_.bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(bias_md_, eng, const_cast<float*>(bias)));
  prim_.execute(cpu_stream(), args);
  cpu_stream().wait();
}

std::string Matmul::impl() const { return pd_ ? pd_.impl_info_str() : "none"; }

GptPlan make_gpt_plan(const Config& c, int64_t M, bool bf16, bool with_backward) {
  const int64_t d = c.d_model, hd = static_cast<int64_t>(c.n_heads) * c.d_head, dm = c.d_mlp,
                V = c.d_vocab;
  GptPlan p;
  p.M = M;
  auto fwd = [&](int64_t K, int64_t N, bool bias) { return Matmul({M, K, N, false, false, bias, false}, bf16); };
  // dX[M,K] = dY[M,N] * W^T, W stored [K,N]
  auto dx = [&](int64_t K, int64_t N) { return Matmul({M, N, K, false, true, false, false}, bf16); };
  // dW[K,N] = X^T dY, X stored [M,K]; in f32 a tall dW as dW^T = dY^T X (see WeightGrad)
  auto dw = [&](int64_t K, int64_t N, bool acc) {
    if (!bf16 && K > N) return WeightGrad{Matmul({N, M, K, true, false, false, acc}, bf16), true};
    return WeightGrad{Matmul({K, M, N, true, false, false, acc}, bf16), false};
  };
  p.qkv = fwd(d, 3 * hd, true);
  p.attn_out = fwd(hd, d, true);
  p.mlp_in = fwd(d, dm, true);
  p.mlp_out = fwd(dm, d, true);
  p.unembed = fwd(d, V, c.has_unembed_bias);
  p.mlp_in_gelu = Matmul({M, d, dm, false, false, true, false, true, true}, bf16);
  if (with_backward) {
    p.qkv_dx = dx(d, 3 * hd);
    p.attn_out_dx = dx(hd, d);
    p.mlp_in_dx = dx(d, dm);
    p.mlp_out_dx = dx(dm, d);
    p.unembed_dx = dx(d, V);
    // written, not accumulated: the caller adds them into the gradients (GPT::Impl::weight_grad)
    p.qkv_dw = {Matmul({d, M, 3 * hd, true, false, false, false}, bf16), false};  // the fused layout is re-ordered after
    p.attn_out_dw = dw(hd, d, false);
    p.mlp_in_dw = dw(d, dm, false);
    p.mlp_out_dw = dw(dm, d, false);
    p.unembed_dw = dw(d, V, false);
  }
  return p;
}

NewtonSchulzPlan make_newton_schulz_plan(int64_t m, int64_t n) {
  NewtonSchulzPlan p;
  p.m = m;
  p.n = n;
  p.xxt = Matmul({m, n, m, false, true, false, false}, false);  // B = X stored [m,n] = [N,K]
  p.aa = Matmul({m, m, m, false, false, false, false}, false);
  p.bx = Matmul({m, m, n, false, false, false, false}, false);
  return p;
}

}  // namespace ogpt::model
