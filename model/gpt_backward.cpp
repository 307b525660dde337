// GPT backward: the forward's saved activations (model/gpt_impl.hpp) back to the parameter
// gradients, layer by layer in reverse; the same matmul plans run transposed through strides.
#include "model/gpt_impl.hpp"

namespace ogpt::model {

template <class Tm>
void GPT::Impl::backward_t(const ParamBlock& p, ParamBlock& g) {
  if (!have_targets) throw std::logic_error("GPT::backward() needs a forward() with targets");
  const int B = lastB;
  const int64_t N = static_cast<int64_t>(B) * T;
  GptPlan& pl = plan(B);
  const Weights& w = p.w;
  Weights& gw = g.w;
  float* dl = dbig.as<float>();
  {
    Scope sc(P::kCrossEntropy);
    ops::crossentropy_backward(dl, logits.as<float>(), targets.data(),
                               target_sets.empty() ? nullptr : target_sets.data(),
                               count ? 1.0f / count : 0.0f, N, V);
  }
  const void* dl_mm = bias_and_mm(gw.b_U, dl, N, V);
  float* dln_ = dln.as<float>();
  float* dres = dresid.as<float>();
  {
    Scope sc(P::kMatmulBwdWeights);
    weight_grad(pl.unembed_dw, lnf_out.p.get(), dl_mm, gw.W_U);
  }
  {
    Scope sc(P::kMatmulBwdData);
    pl.unembed_dx.run(dl_mm, w_U(p), nullptr, dln_);
  }
  {
    Scope sc(P::kLayerNorm);
    std::memset(dres, 0, N * d * 4);
    ops::layernorm_backward(dres, gw.ln_final_w, gw.ln_final_b, dln_, resid_final.as<float>(),
                            w.ln_final_w, meanf.as<float>(), rstdf.as<float>(), N, d);
  }
  for (int l = static_cast<int>(L) - 1; l >= 0; --l) {
    Slot& s = slots[l];
    const BlockWeights& bw = w.blocks[l];
    BlockWeights& gb = gw.blocks[l];
    // MLP: resid_post = resid_mid + post W_out + b_out, post = gelu(pre), pre = ln2 W_in + b_in
    const void* d_mm = bias_and_mm(gb.b_out, dres, N, d);
    float* dpost = dbig.as<float>();
    {
      Scope sc(P::kMatmulBwdWeights);
      weight_grad(pl.mlp_out_dw, s.post.p.get(), d_mm, gb.W_out);
    }
    {
      Scope sc(P::kMatmulBwdData);
      pl.mlp_out_dx.run(d_mm, w_out(p, l), nullptr, dpost);
    }
    {
      Scope sc(P::kGelu);
      ops::gelu_backward(dpost, dpost, s.pre.as<float>(), N * dm);
    }
    d_mm = bias_and_mm(gb.b_in, dpost, N, dm);
    {
      Scope sc(P::kMatmulBwdWeights);
      weight_grad(pl.mlp_in_dw, s.ln2_out.p.get(), d_mm, gb.W_in);
    }
    {
      Scope sc(P::kMatmulBwdData);
      pl.mlp_in_dx.run(d_mm, w_in(p, l), nullptr, dln_);
    }
    {
      Scope sc(P::kLayerNorm);
      ops::layernorm_backward(dres, gb.ln2_w, gb.ln2_b, dln_, s.resid_mid.as<float>(), bw.ln2_w,
                              s.mean2.as<float>(), s.rstd2.as<float>(), N, d);
    }
    // attention: resid_mid = resid_pre + z W_O + b_O
    d_mm = bias_and_mm(gb.b_O, dres, N, d);
    float* dz_ = dz.as<float>();
    {
      Scope sc(P::kMatmulBwdWeights);
      weight_grad(pl.attn_out_dw, s.z.p.get(), d_mm, gb.W_O);
    }
    {
      Scope sc(P::kMatmulBwdData);
      pl.attn_out_dx.run(d_mm, w_O(p, l), nullptr, dz_);
    }
    float* dqkv_ = dqkv.as<float>();
    {
      Scope sc(P::kAttention);
      ops::attention_backward(dqkv_, dz_, s.qkv.as<float>(), s.pattern.as<float>(), B, T, H, D);
    }
    d_mm = bias_and_mm(gb.b_Q, dqkv_, N, 3 * hd);  // b_Q, b_K, b_V are contiguous
    {
      Scope sc(P::kMatmulBwdWeights);
      pl.qkv_dw.mm.run(s.ln1_out.p.get(), d_mm, nullptr, dW.as<float>());
      // fused [d, 3h, dh] -> TL [3h, d, dh], accumulating
      const float* f = dW.as<float>();
      const int64_t G = 3 * H;
#pragma omp parallel for schedule(static) if (d * G * D >= (1 << 15))
      for (int64_t gi = 0; gi < G; ++gi)
        for (int64_t k = 0; k < d; ++k) {
          float* dst = gb.W_Q + (gi * d + k) * D;
          const float* src = f + (k * G + gi) * D;
          for (int64_t c = 0; c < D; ++c) dst[c] += src[c];
        }
    }
    {
      Scope sc(P::kMatmulBwdData);
      pl.qkv_dx.run(d_mm, lw[l].Wqkv.p.get(), nullptr, dln_);
    }
    {
      Scope sc(P::kLayerNorm);
      ops::layernorm_backward(dres, gb.ln1_w, gb.ln1_b, dln_, s.resid_pre.as<float>(), bw.ln1_w,
                              s.mean1.as<float>(), s.rstd1.as<float>(), N, d);
    }
  }
  Scope sc(P::kEmbed);
  ops::embed_backward(gw.W_E, gw.W_pos, dres, tokens.data(), B, T, d);
}

void GPT::backward() {
  if (impl_->bf16)
    impl_->backward_t<bf16_t>(params, grads);
  else
    impl_->backward_t<float>(params, grads);
}

}  // namespace ogpt::model
