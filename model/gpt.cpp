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
#include "model/gpt.hpp"

#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "model/dnnl_plan.hpp"
#include "model/ops.hpp"
#include "model/profile.hpp"
#include "util/error.hpp"

namespace ogpt::model {

using ops::bf16_t;
using P = profile::Op;
using profile::Scope;

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

namespace {

// 64-byte aligned raw storage.
struct Buf {
  std::unique_ptr<void, decltype(&std::free)> p{nullptr, &std::free};
  size_t bytes = 0;
  void alloc(size_t b) {
    size_t r = (b + 63) / 64 * 64;
    p.reset(r ? std::aligned_alloc(64, r) : nullptr);
    if (r && !p) throw std::bad_alloc();
    std::memset(p.get(), 0, r);
    bytes = b;
  }
  template <class T>
  T* as() const {
    return static_cast<T*>(p.get());
  }
};

// Calls edits and fills the cache at one hook point; wants() is false for unrequested hooks,
// so a forward without hooks does no hook work at all.
struct HookCtx {
  Hooks* h = nullptr;
  bool wants(const std::string& n) const {
    return h && (h->cache_names.count(n) || h->edits.count(n));
  }
  void run(const std::string& n, float* data, std::vector<int64_t> shape) {
    if (!wants(n)) return;
    Scope sc(P::kHooks);
    if (auto e = h->edits.find(n); e != h->edits.end()) e->second(TensorView{data, shape});
    if (h->cache_names.count(n)) {
      size_t numel = 1;
      for (auto s : shape) numel *= static_cast<size_t>(s);
      Tensor& t = h->cache[n];
      t.shape = shape;
      t.data.assign(data, data + numel);
    }
  }
};

struct LayerNames {
  std::string resid_pre, ln1_scale, ln1_norm, q, k, v, scores, pattern, z, attn_out, resid_mid,
      ln2_scale, ln2_norm, pre, post, mlp_out, resid_post;
};

}  // namespace

struct GPT::Impl {
  Config c;
  int maxB;
  Precision prec;
  bool bf16;
  int64_t L, T, d, H, D, hd, dm, V;
  std::vector<LayerNames> names;

  GptPlan plan_max;
  std::map<int, GptPlan> plans;  // other batch sizes, built on first use
  GptPlan& plan(int B) {
    if (B == maxB) return plan_max;
    auto it = plans.find(B);
    if (it == plans.end()) it = plans.emplace(B, make_gpt_plan(c, B * T, bf16, true)).first;
    return it->second;
  }

  // Weight copies in matmul layout/type: Wqkv fused [d, 3*h*dh]; in bf16 also W_O, W_in, W_out,
  // W_U (in f32 those are used straight from the master block).
  struct LayerW {
    Buf Wqkv, W_O, W_in, W_out;
  };
  std::vector<LayerW> lw;
  Buf W_U;
  bool weights_dirty = true;

  // Activations. Slot l holds layer l in training mode; slot 0 only without targets.
  struct Slot {
    Buf resid_pre, resid_mid, ln1_out, ln2_out, mean1, rstd1, mean2, rstd2, qkv, pattern, z, pre,
        post;
  };
  std::vector<Slot> slots;  // L slots once training buffers exist, else 1
  bool train_buffers = false;
  Buf resid_final, lnf_out, meanf, rstdf, logits;
  Buf attn_out, mlp_out, zf;  // f32 scratch (zf: f32 z before the bf16 copy)
  Buf hook_a, hook_b;         // scratch for hooks that need materialising (lazy)

  // backward scratch (lazy)
  Buf dresid, dln, dmm, dbig, dqkv, dz, dWqkv;

  std::vector<uint8_t> tokens, targets;
  std::vector<uint64_t> target_sets;  // empty: one-hot targets
  int lastB = 0;
  bool have_targets = false;
  int count = 0;

  size_t esz() const { return bf16 ? 2 : 4; }
  int64_t rows() const { return static_cast<int64_t>(maxB) * T; }

  Impl(const Config& cfg, int max_batch, Precision p)
      : c(cfg), maxB(max_batch), prec(p), bf16(p == Precision::bf16) {
    L = c.n_layers, T = c.n_ctx, d = c.d_model, H = c.n_heads, D = c.d_head, dm = c.d_mlp,
    V = c.d_vocab;
    hd = H * D;
    // the 17 per-layer names, in the order hook_names() lists them (and LayerNames declares)
    auto all = hook_names(c);
    for (int l = 0; l < L; ++l) {
      const std::string* n = all.data() + 2 + 17 * l;
      names.push_back({n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9], n[10], n[11],
                       n[12], n[13], n[14], n[15], n[16]});
    }
    plan_max = make_gpt_plan(c, rows(), bf16, true);
    lw.resize(L);
    for (auto& w : lw) {
      w.Wqkv.alloc(d * 3 * hd * esz());
      if (bf16) {
        w.W_O.alloc(hd * d * 2);
        w.W_in.alloc(d * dm * 2);
        w.W_out.alloc(dm * d * 2);
      }
    }
    if (bf16) W_U.alloc(d * V * 2);
    slots.resize(1);
    alloc_slot(slots[0]);
    const int64_t M = rows();
    resid_final.alloc(M * d * 4);
    lnf_out.alloc(M * d * esz());
    meanf.alloc(M * 4);
    rstdf.alloc(M * 4);
    logits.alloc(M * V * 4);
    attn_out.alloc(M * d * 4);
    mlp_out.alloc(M * d * 4);
    if (bf16) zf.alloc(M * hd * 4);
  }

  void alloc_slot(Slot& s) {
    const int64_t M = rows();
    s.resid_pre.alloc(M * d * 4);
    s.resid_mid.alloc(M * d * 4);
    s.ln1_out.alloc(M * d * esz());
    s.ln2_out.alloc(M * d * esz());
    for (Buf* b : {&s.mean1, &s.rstd1, &s.mean2, &s.rstd2}) b->alloc(M * 4);
    s.qkv.alloc(M * 3 * hd * 4);
    s.pattern.alloc(static_cast<int64_t>(maxB) * H * T * T * 4);
    s.z.alloc(M * hd * esz());
    s.pre.alloc(M * dm * 4);
    s.post.alloc(M * dm * esz());
  }

  void ensure_train_buffers() {
    if (train_buffers) return;
    slots.resize(L);
    for (int l = 1; l < L; ++l) alloc_slot(slots[l]);
    const int64_t M = rows();
    dresid.alloc(M * d * 4);
    dln.alloc(M * d * 4);
    dmm.alloc(M * std::max({3 * hd, dm, d, V}) * esz());
    dbig.alloc(M * std::max({3 * hd, dm, d, V}) * 4);
    dqkv.alloc(M * 3 * hd * 4);
    dz.alloc(M * hd * 4);
    dWqkv.alloc(d * 3 * hd * 4);
    train_buffers = true;
  }

  // Re-derives the matmul copies of the weights from the master block.
  void refresh_weights(const ParamBlock& p) {
    Scope sc(P::kWeights);
    for (int l = 0; l < L; ++l) {
      const BlockWeights& b = p.w.blocks[l];
      // TL W_Q,W_K,W_V are contiguous: [3h, d, dh] -> fused [d, 3h, dh]
      std::vector<float> f(d * 3 * hd);
      const int64_t G = 3 * H;
#pragma omp parallel for schedule(static) if (d * G * D >= (1 << 15))
      for (int64_t k = 0; k < d; ++k)
        for (int64_t g = 0; g < G; ++g)
          std::memcpy(&f[(k * G + g) * D], b.W_Q + (g * d + k) * D, D * 4);
      if (bf16) {
        ops::convert(lw[l].Wqkv.as<bf16_t>(), f.data(), f.size());
        ops::convert(lw[l].W_O.as<bf16_t>(), b.W_O, hd * d);
        ops::convert(lw[l].W_in.as<bf16_t>(), b.W_in, d * dm);
        ops::convert(lw[l].W_out.as<bf16_t>(), b.W_out, dm * d);
      } else {
        std::memcpy(lw[l].Wqkv.as<float>(), f.data(), f.size() * 4);
      }
    }
    if (bf16) ops::convert(W_U.as<bf16_t>(), p.w.W_U, d * V);
    weights_dirty = false;
  }

  const void* w_O(const ParamBlock& p, int l) const {
    return bf16 ? lw[l].W_O.p.get() : static_cast<const void*>(p.w.blocks[l].W_O);
  }
  const void* w_in(const ParamBlock& p, int l) const {
    return bf16 ? lw[l].W_in.p.get() : static_cast<const void*>(p.w.blocks[l].W_in);
  }
  const void* w_out(const ParamBlock& p, int l) const {
    return bf16 ? lw[l].W_out.p.get() : static_cast<const void*>(p.w.blocks[l].W_out);
  }
  const void* w_U(const ParamBlock& p) const {
    return bf16 ? W_U.p.get() : static_cast<const void*>(p.w.W_U);
  }

  void ensure_hook_scratch() {
    if (hook_a.bytes) return;
    hook_a.alloc(rows() * std::max(d, dm) * 4);
    hook_b.alloc(rows() * std::max(d, dm) * 4);
  }

  // db += column sums of dy; returns dy as a matmul input (bf16 copy in dmm, or dy itself).
  const void* bias_and_mm(float* db, const float* dy, int64_t N, int64_t C) {
    Scope sc(P::kBias);
    if (!bf16) {
      if (db) ops::bias_backward(db, dy, N, C);
      return dy;
    }
    ops::bias_backward(db, dmm.as<bf16_t>(), dy, N, C);
    return dmm.p.get();
  }

  template <class Tm>
  void layernorm_hooked(Tm* out, float* mean, float* rstd, const float* x, const float* w,
                        const float* b, int B, HookCtx& hk, const std::string& scale_name,
                        const std::string& norm_name);
  template <class Tm>
  void add_and_norm(float* resid, const float* x, const float* y, Tm* out, float* mean,
                    float* rstd, const float* w, const float* b, int B, HookCtx& hk,
                    std::initializer_list<const std::string*> after_add,
                    const std::string& scale_name, const std::string& norm_name);
  template <class Tm>
  float forward_t(const ParamBlock& p, const uint8_t* tok, const uint8_t* tgt, const uint64_t* sets,
                  int B, Hooks* hooks);
  template <class Tm>
  void backward_t(const ParamBlock& p, ParamBlock& g);
};

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
    pl.unembed_dw.run(lnf_out.p.get(), dl_mm, nullptr, gw.W_U);
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
      pl.mlp_out_dw.run(s.post.p.get(), d_mm, nullptr, gb.W_out);
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
      pl.mlp_in_dw.run(s.ln2_out.p.get(), d_mm, nullptr, gb.W_in);
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
      pl.attn_out_dw.run(s.z.p.get(), d_mm, nullptr, gb.W_O);
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
      pl.qkv_dw.run(s.ln1_out.p.get(), d_mm, nullptr, dWqkv.as<float>());
      // fused [d, 3h, dh] -> TL [3h, d, dh], accumulating
      const float* f = dWqkv.as<float>();
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

GPT::GPT(const Config& cfg, int max_batch, Precision precision)
    : params(cfg), grads(cfg) {
  if (max_batch < 1) throw UserError("max_batch must be at least 1");
  impl_ = std::make_unique<Impl>(cfg, max_batch, precision);
}

GPT::~GPT() = default;

int GPT::max_batch() const { return impl_->maxB; }
Precision GPT::precision() const { return impl_->prec; }

float GPT::forward(const uint8_t* tokens, const uint8_t* targets, int B, Hooks* hooks,
                   const uint64_t* target_sets) {
  return impl_->bf16 ? impl_->forward_t<bf16_t>(params, tokens, targets, target_sets, B, hooks)
                     : impl_->forward_t<float>(params, tokens, targets, target_sets, B, hooks);
}

const float* GPT::logits() const { return impl_->logits.as<float>(); }

void GPT::backward() {
  if (impl_->bf16)
    impl_->backward_t<bf16_t>(params, grads);
  else
    impl_->backward_t<float>(params, grads);
}

void GPT::zero_grad() { grads.zero(); }

void GPT::mark_params_changed() { impl_->weights_dirty = true; }

}  // namespace ogpt::model
