// The GPT forward/backward: oneDNN matmuls (model/dnnl_plan.hpp) + plain ops (model/ops.hpp).
//
// Matmul inputs ("mm" buffers) are f32 or bf16 by precision; everything else is f32. Per layer
// the forward keeps what backward needs: residual stream (f32), LN mean/rstd, LN outputs (mm),
// qkv (f32, for attention backward), pattern, z (mm), MLP pre-activation (f32) and post (mm).
// A forward without targets keeps one layer's worth and overwrites it layer by layer.
//
// Hooks: at a hook point the edit (if any) runs first, then the cache copies what downstream
// will see. Hooks that are not requested cost nothing: the fused fast paths (residual add + LN,
// scores + softmax + mix, GELU as a matmul post-op) split into steps only where a requested hook
// sits between them. backward() uses the saved, possibly edited, activations; an edit of an LN's
// hook_normalized (its output, after the affine, as in TransformerLens) is not reflected in that
// LN's own backward (a hook_scale edit is).
// The matmul weight copies (fused Wqkv, bf16 copies) are re-derived on the first forward after
// mark_params_changed(): call it after changing params.
#include "model/gpt_impl.hpp"

namespace ogpt::model {

std::vector<std::string> hook_names(const Config& c) {
  std::vector<std::string> n = {"hook_embed", "hook_pos_embed"};
  for (int l = 0; l < c.n_layers; ++l) {
    std::string p = "blocks." + std::to_string(l) + ".";
    for (const char* s :
         {"hook_resid_pre", "ln1.hook_scale", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k",
          "attn.hook_v", "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z",
          "hook_attn_out", "hook_resid_mid", "ln2.hook_scale", "ln2.hook_normalized",
          "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post"})
      n.push_back(p + s);
  }
  n.push_back("ln_final.hook_scale");
  n.push_back("ln_final.hook_normalized");
  return n;
}


// LayerNorm in TransformerLens steps (scale -> hook -> normalized and affine -> hook), used only
// when one of its hooks is requested. Backward then uses the (possibly edited) scale.
template <class Tm>
void GPT::Impl::layernorm_hooked(Tm* out, float* mean, float* rstd, const float* x, const float* w,
                                 const float* b, int B, HookCtx& hk, const std::string& scale_name,
                                 const std::string& norm_name) {
  const int64_t N = static_cast<int64_t>(B) * T;
  ensure_hook_scratch();
  float* scale = hook_b.as<float>();
  float* norm = hook_a.as<float>();
  {
    Scope sc(P::kLayerNorm);
    // the fast LN gives mean and rstd; scale = 1/rstd
    ops::layernorm_forward(norm, mean, rstd, x, nullptr, nullptr, N, d);
    for (int64_t n = 0; n < N; ++n) scale[n] = 1.0f / rstd[n];
  }
  hk.run(scale_name, scale, {B, T, 1});
  for (int64_t n = 0; n < N; ++n) rstd[n] = 1.0f / scale[n];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < d; ++i) {
      float xn = (x[n * d + i] - mean[n]) * rstd[n];
      norm[n * d + i] = w ? xn * w[i] + b[i] : xn;
    }
  // TransformerLens hooks "normalized" after the affine: it is the LayerNorm's output
  hk.run(norm_name, norm, {B, T, d});
  Scope sc(P::kLayerNorm);
  ops::convert(out, norm, N * d);
}

// resid = x + y (y may be null: resid is x), the hooks after the add, then out = LN(resid).
template <class Tm>
void GPT::Impl::add_and_norm(float* resid, const float* x, const float* y, Tm* out, float* mean,
                             float* rstd, const float* w, const float* b, int B, HookCtx& hk,
                             std::initializer_list<const std::string*> after_add,
                             const std::string& scale_name, const std::string& norm_name) {
  const int64_t N = static_cast<int64_t>(B) * T;
  bool hooked = hk.wants(scale_name) || hk.wants(norm_name);
  for (auto* n : after_add) hooked = hooked || hk.wants(*n);
  if (!hooked && y) {
    Scope sc(P::kLayerNorm);
    ops::residual_layernorm_forward(resid, out, mean, rstd, x, y, w, b, N, d);
    return;
  }
  if (y) {
    Scope sc(P::kResidual);
    ops::residual_forward(resid, x, y, N * d);
  } else if (resid != x) {
    std::memcpy(resid, x, N * d * 4);
  }
  for (auto* n : after_add) hk.run(*n, resid, {B, T, d});
  if (hk.wants(scale_name) || hk.wants(norm_name)) {
    layernorm_hooked(out, mean, rstd, resid, w, b, B, hk, scale_name, norm_name);
  } else {
    Scope sc(P::kLayerNorm);
    ops::layernorm_forward(out, mean, rstd, resid, w, b, N, d);
  }
}

template <class Tm>
float GPT::Impl::forward_t(const ParamBlock& p, const uint8_t* tok, const uint8_t* tgt,
                           const uint64_t* sets, int B, Hooks* hooks) {
  if (B < 1 || B > maxB)
    throw UserError("batch of " + std::to_string(B) + " games, but the model was planned for 1.." +
                    std::to_string(maxB));
  const int64_t N = static_cast<int64_t>(B) * T;
  for (int64_t i = 0; i < N; ++i)
    if (tok[i] >= V || (tgt && tgt[i] >= V))
      throw UserError("token id " + std::to_string(tgt && tgt[i] >= V ? tgt[i] : tok[i]) +
                      " at position " + std::to_string(i) + " is outside the vocabulary of " +
                      std::to_string(V));
  if (weights_dirty) refresh_weights(p);
  const bool train = tgt != nullptr;
  if (train) ensure_train_buffers();
  tokens.assign(tok, tok + N);
  if (train) targets.assign(tgt, tgt + N);
  if (train && sets)
    target_sets.assign(sets, sets + N);
  else
    target_sets.clear();
  lastB = B;
  have_targets = false;
  HookCtx hk{hooks};
  GptPlan& pl = plan(B);
  const Weights& w = p.w;
  const std::string none;

  Slot& s0 = slots[0];
  {
    Scope sc(P::kEmbed);
    ops::embed_forward(s0.resid_pre.as<float>(), tok, w.W_E, w.W_pos, B, T, d);
  }
  if (hk.wants("hook_embed") || hk.wants("hook_pos_embed")) {
    // materialise the two parts, let hooks edit them, and re-add
    ensure_hook_scratch();
    float *e = hook_a.as<float>(), *pe = hook_b.as<float>();
    for (int64_t n = 0; n < N; ++n) {
      std::memcpy(e + n * d, w.W_E + tok[n] * d, d * 4);
      std::memcpy(pe + n * d, w.W_pos + (n % T) * d, d * 4);
    }
    hk.run("hook_embed", e, {B, T, d});
    hk.run("hook_pos_embed", pe, {B, T, d});
    ops::residual_forward(s0.resid_pre.as<float>(), e, pe, N * d);
  }
  add_and_norm(s0.resid_pre.as<float>(), s0.resid_pre.as<float>(), nullptr, s0.ln1_out.as<Tm>(),
               s0.mean1.as<float>(), s0.rstd1.as<float>(), w.blocks[0].ln1_w, w.blocks[0].ln1_b,
               B, hk, {&names[0].resid_pre}, names[0].ln1_scale, names[0].ln1_norm);

  for (int l = 0; l < L; ++l) {
    Slot& s = slots[train ? l : 0];
    const BlockWeights& bw = w.blocks[l];
    const LayerNames& nm = names[l];
    float* qkv = s.qkv.as<float>();
    {
      Scope sc(P::kMatmulFwd);
      pl.qkv.run(s.ln1_out.p.get(), lw[l].Wqkv.p.get(), bw.b_Q, qkv);
    }
    const std::string* qkv_names[3] = {&nm.q, &nm.k, &nm.v};
    for (int part = 0; part < 3; ++part) {
      if (!hk.wants(*qkv_names[part])) continue;
      ensure_hook_scratch();
      float* t = hook_a.as<float>();
      for (int64_t n = 0; n < N; ++n) std::memcpy(t + n * hd, qkv + n * 3 * hd + part * hd, hd * 4);
      hk.run(*qkv_names[part], t, {B, T, H, D});
      for (int64_t n = 0; n < N; ++n) std::memcpy(qkv + n * 3 * hd + part * hd, t + n * hd, hd * 4);
    }
    float* zf32 = bf16 ? zf.as<float>() : s.z.as<float>();
    float* pat = s.pattern.as<float>();
    if (hk.wants(nm.scores) || hk.wants(nm.pattern)) {
      Scope sc(P::kAttention);
      ops::attention_scores(pat, qkv, B, T, H, D);
      hk.run(nm.scores, pat, {B, H, T, T});
      ops::attention_softmax(pat, pat, B, T, H);
      hk.run(nm.pattern, pat, {B, H, T, T});
      ops::attention_values(zf32, pat, qkv, B, T, H, D);
    } else {
      Scope sc(P::kAttention);
      ops::attention_forward(zf32, pat, qkv, B, T, H, D);
    }
    hk.run(nm.z, zf32, {B, T, H, D});
    if (bf16) {
      Scope sc(P::kConvert);
      ops::convert(s.z.as<bf16_t>(), zf32, N * hd);
    }
    {
      Scope sc(P::kMatmulFwd);
      pl.attn_out.run(s.z.p.get(), w_O(p, l), bw.b_O, attn_out.as<float>());
    }
    hk.run(nm.attn_out, attn_out.as<float>(), {B, T, d});
    add_and_norm(s.resid_mid.as<float>(), s.resid_pre.as<float>(), attn_out.as<float>(),
                 s.ln2_out.as<Tm>(), s.mean2.as<float>(), s.rstd2.as<float>(), bw.ln2_w, bw.ln2_b,
                 B, hk, {&nm.resid_mid}, nm.ln2_scale, nm.ln2_norm);
    float* pre = s.pre.as<float>();
    if (!train && !hk.wants(nm.pre) && !hk.wants(nm.post)) {
      // inference: GELU as a matmul post-op, straight into the matmul type; no f32 pre
      Scope sc(P::kMatmulFwd);
      pl.mlp_in_gelu.run(s.ln2_out.p.get(), w_in(p, l), bw.b_in, s.post.p.get());
    } else {
      {
        Scope sc(P::kMatmulFwd);
        pl.mlp_in.run(s.ln2_out.p.get(), w_in(p, l), bw.b_in, pre);
      }
      hk.run(nm.pre, pre, {B, T, dm});
      if (bf16 && hk.wants(nm.post)) {
        ensure_hook_scratch();
        ops::gelu_forward(hook_a.as<float>(), pre, N * dm);
        hk.run(nm.post, hook_a.as<float>(), {B, T, dm});
        ops::convert(s.post.as<bf16_t>(), hook_a.as<float>(), N * dm);
      } else {
        {
          Scope sc(P::kGelu);
          ops::gelu_forward(s.post.as<Tm>(), pre, N * dm);
        }
        if (!bf16) hk.run(nm.post, s.post.as<float>(), {B, T, dm});
      }
    }
    {
      Scope sc(P::kMatmulFwd);
      pl.mlp_out.run(s.post.p.get(), w_out(p, l), bw.b_out, mlp_out.as<float>());
    }
    hk.run(nm.mlp_out, mlp_out.as<float>(), {B, T, d});
    if (l + 1 < L) {
      Slot& sn = slots[train ? l + 1 : 0];
      const BlockWeights& bn = w.blocks[l + 1];
      add_and_norm(sn.resid_pre.as<float>(), s.resid_mid.as<float>(), mlp_out.as<float>(),
                   sn.ln1_out.as<Tm>(), sn.mean1.as<float>(), sn.rstd1.as<float>(), bn.ln1_w,
                   bn.ln1_b, B, hk, {&nm.resid_post, &names[l + 1].resid_pre},
                   names[l + 1].ln1_scale, names[l + 1].ln1_norm);
    } else {
      add_and_norm(resid_final.as<float>(), s.resid_mid.as<float>(), mlp_out.as<float>(),
                   lnf_out.as<Tm>(), meanf.as<float>(), rstdf.as<float>(), w.ln_final_w,
                   w.ln_final_b, B, hk, {&nm.resid_post}, std::string("ln_final.hook_scale"),
                   std::string("ln_final.hook_normalized"));
    }
  }
  {
    Scope sc(P::kMatmulFwd);
    pl.unembed.run(lnf_out.p.get(), w_U(p), w.b_U, logits.as<float>());
  }
  if (!train) return 0.0f;
  Scope sc(P::kCrossEntropy);
  double sum = ops::crossentropy_forward(logits.as<float>(), tgt, sets, N, V, &count);
  have_targets = true;
  return count ? static_cast<float>(sum / count) : 0.0f;
}


GPT::GPT(const Config& cfg, int max_batch, Precision precision)
    : params(cfg), grads(cfg) {
  if (max_batch < 1) throw UserError("max_batch must be at least 1");
  impl_ = std::make_unique<Impl>(cfg, max_batch, precision);
}

GPT::~GPT() = default;

int GPT::max_batch() const { return impl_->maxB; }

int64_t GPT::training_bytes(const Config& c, int max_batch, Precision precision) {
  // Mirrors Impl's constructor, alloc_slot() and ensure_train_buffers() (model/gpt_impl.hpp).
  const bool bf = precision == Precision::bf16 && bf16_matmul_supported();
  const int64_t e = bf ? 2 : 4, B = max_batch, T = c.n_ctx, M = B * T, L = c.n_layers, d = c.d_model,
                H = c.n_heads, hd = int64_t(c.n_heads) * c.d_head, dm = c.d_mlp, V = c.d_vocab;
  const int64_t wide = std::max({3 * hd, dm, d, V});
  const int64_t slot = M * (2 * d * 4 + 2 * d * e + 4 * 4 + 3 * hd * 4 + hd * e + dm * 4 + dm * e) + B * H * T * T * 4;
  const int64_t weights = L * (d * 3 * hd * e + (bf ? (hd * d + 2 * d * dm) * 2 : 0)) + (bf ? d * V * 2 : 0);
  const int64_t head = M * (d * 4 + d * e + 2 * 4 + V * 4 + 2 * d * 4 + (bf ? hd * 4 : 0));
  const int64_t backward = M * (2 * d * 4 + wide * e + wide * 4 + 3 * hd * 4 + hd * 4) + std::max({d * 3 * hd, d * dm, d * V}) * 4;
  return L * slot + weights + head + backward;
}

int64_t GPT::allocated_bytes() const {
  const Impl& m = *impl_;
  int64_t n = m.W_U.bytes;
  for (const auto& w : m.lw) n += w.Wqkv.bytes + w.W_O.bytes + w.W_in.bytes + w.W_out.bytes;
  for (const auto& s : m.slots)
    for (const detail::Buf* b : {&s.resid_pre, &s.resid_mid, &s.ln1_out, &s.ln2_out, &s.mean1, &s.rstd1, &s.mean2,
                                 &s.rstd2, &s.qkv, &s.pattern, &s.z, &s.pre, &s.post})
      n += b->bytes;
  for (const detail::Buf* b : {&m.resid_final, &m.lnf_out, &m.meanf, &m.rstdf, &m.logits, &m.attn_out, &m.mlp_out,
                               &m.zf, &m.hook_a, &m.hook_b, &m.dresid, &m.dln, &m.dmm, &m.dbig, &m.dqkv, &m.dz, &m.dW})
    n += b->bytes;
  return n;
}
Precision GPT::precision() const { return impl_->prec; }

float GPT::forward(const uint8_t* tokens, const uint8_t* targets, int B, Hooks* hooks,
                   const uint64_t* target_sets) {
  return impl_->bf16 ? impl_->forward_t<bf16_t>(params, tokens, targets, target_sets, B, hooks)
                     : impl_->forward_t<float>(params, tokens, targets, target_sets, B, hooks);
}

const float* GPT::logits() const { return impl_->logits.as<float>(); }


void GPT::zero_grad() { grads.zero(); }

void GPT::mark_params_changed() { impl_->weights_dirty = true; }

}  // namespace ogpt::model
