#pragma once
// GPT::Impl, shared by model/gpt.cpp (planning, forward, hooks) and model/gpt_backward.cpp:
// the activation buffers forward saves for backward, the oneDNN plans and the weight copies.
// Private to the model library: include only from those two files.
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "model/dnnl_plan.hpp"
#include "model/gpt.hpp"
#include "model/ops.hpp"
#include "model/profile.hpp"
#include "util/error.hpp"

namespace ogpt::model {

using ops::bf16_t;
using P = profile::Op;
using profile::Scope;

namespace detail {

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

}  // namespace detail

using detail::Buf;
using detail::HookCtx;
using detail::LayerNames;

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
  Buf dresid, dln, dmm, dbig, dqkv, dz, dW;  // dW: one weight gradient before it is added in

  std::vector<uint8_t> tokens, targets;
  std::vector<uint64_t> target_sets;  // empty: one-hot targets
  int lastB = 0;
  bool have_targets = false;
  int count = 0;

  size_t esz() const { return bf16 ? 2 : 4; }
  int64_t rows() const { return static_cast<int64_t>(maxB) * T; }

  Impl(const Config& cfg, int max_batch, Precision p)
      : c(cfg),
        maxB(max_batch),
        prec(p == Precision::bf16 && !bf16_matmul_supported() ? Precision::f32 : p),
        bf16(prec == Precision::bf16) {
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
    dW.alloc(std::max({d * 3 * hd, d * dm, d * V}) * 4);
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
  // grads += X^T dY: the matmul writes dW (or dW^T) into a scratch, then one add. (oneDNN 2.6's
  // f32 gemm runs the same matmul with a sum post-op at lower speed on AVX2; the add is cheap.)
  void weight_grad(const WeightGrad& wg, const void* X, const void* dY, float* grad) {
    const float* src = dW.as<float>();
    const int64_t R = wg.mm.shape().M, C = wg.mm.shape().N;  // of the matmul's output
    if (!wg.transposed) {
      wg.mm.run(X, dY, nullptr, dW.as<float>());
#pragma omp parallel for schedule(static) if (R * C >= (1 << 15))
      for (int64_t i = 0; i < R * C; ++i) grad[i] += src[i];
      return;
    }
    wg.mm.run(dY, X, nullptr, dW.as<float>());  // src = dW^T [R = N, C = K]; grad is [K, N]
    constexpr int64_t kB = 32;                 // cache blocks of the transposed add
#pragma omp parallel for schedule(static) if (R * C >= (1 << 15))
    for (int64_t k0 = 0; k0 < C; k0 += kB)
      for (int64_t n0 = 0; n0 < R; n0 += kB)
        for (int64_t k = k0; k < std::min(C, k0 + kB); ++k)
          for (int64_t n = n0; n < std::min(R, n0 + kB); ++n) grad[k * R + n] += src[n * C + k];
  }

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

}  // namespace ogpt::model
