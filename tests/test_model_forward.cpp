// The whole GPT: forward against the double reference model (model/ops_ref.hpp), backward against
// finite differences of the reference loss, f32 vs bf16, hooks (cache shapes, edits seen
// downstream only), determinism, batch-size handling.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "model/dnnl_plan.hpp"
#include "model/gpt.hpp"
#include "model/ops_ref.hpp"
#include "util/error.hpp"

using namespace ogpt::model;

namespace {

// Every parameter random (LN weights near 1), so no gradient is trivially zero.
void randomize(ParamBlock& p, uint64_t seed, double scale = 0.3) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& s : p.specs) {
    bool ln_w = s.name.ends_with(".w");
    for (size_t i = 0; i < s.numel; ++i)
      p.data[s.offset + i] = ln_w ? 1.0f + 0.2f * nd(rng) : static_cast<float>(scale) * nd(rng);
  }
}

void random_games(std::vector<uint8_t>& tok, std::vector<uint8_t>& tgt, int B, int T, int V,
                  uint64_t seed) {
  std::mt19937_64 rng(seed);
  tok.resize(B * T);
  tgt.resize(B * T);
  for (int i = 0; i < B * T; ++i) {
    tok[i] = static_cast<uint8_t>(1 + rng() % (V - 1));
    tgt[i] = (i % T == T - 1 || rng() % 5 == 0) ? 0 : static_cast<uint8_t>(1 + rng() % (V - 1));
  }
}

Config tiny(bool ln_weights, bool unembed_bias) {
  Config c;
  c.n_layers = 2;
  c.d_model = 16;
  c.n_heads = 2;
  c.d_head = 8;
  c.d_mlp = 32;
  c.n_ctx = 6;
  c.has_ln_weights = ln_weights;
  c.has_unembed_bias = unembed_bias;
  return c;
}

// Forward against the reference, then every parameter tensor's gradient (up to per_tensor
// sampled entries) against central differences of the double reference loss.
void check_model_gradient(const Config& c, int B, int per_tensor, uint64_t seed) {
  GPT g(c, B, Precision::f32);
  randomize(g.params, seed);
  g.mark_params_changed();
  std::vector<uint8_t> tok, tgt;
  random_games(tok, tgt, B, c.n_ctx, c.d_vocab, seed + 1);
  float loss = g.forward(tok.data(), tgt.data(), B);
  g.zero_grad();
  g.backward();
  std::vector<double> p(g.params.data.begin(), g.params.data.end()), rl;
  double rloss = ref::gpt_loss(c, p, tok.data(), tgt.data(), B, &rl);
  CHECK(std::fabs(loss - rloss) < 1e-5 * (1 + rloss));
  double worst_logit = 0;
  for (size_t i = 0; i < rl.size(); ++i)
    worst_logit = std::max(worst_logit, std::fabs(g.logits()[i] - rl[i]));
  CHECK(worst_logit < 1e-4);
  std::mt19937_64 rng(seed + 2);
  const double eps = 1e-6;
  for (auto& s : g.params.specs) {
    double worst = 0;
    for (int k = 0; k < per_tensor && k < static_cast<int>(s.numel); ++k) {
      size_t i = s.offset + (static_cast<int>(s.numel) <= per_tensor ? k : rng() % s.numel);
      double keep = p[i];
      p[i] = keep + eps;
      double up = ref::gpt_loss(c, p, tok.data(), tgt.data(), B);
      p[i] = keep - eps;
      double down = ref::gpt_loss(c, p, tok.data(), tgt.data(), B);
      p[i] = keep;
      double fd = (up - down) / (2 * eps);
      worst = std::max(worst, std::fabs(g.grads.data[i] - fd) / (1e-2 + std::fabs(fd)));
    }
    INFO(c.describe() << " " << s.name << ": worst relative gradient error " << worst);
    CHECK(worst < 2e-3);
  }
}

}  // namespace

TEST_CASE("GPT gradient matches finite differences of the reference loss (tiny configs)") {
  check_model_gradient(tiny(true, true), 2, 1 << 30, 100);   // every parameter
  check_model_gradient(tiny(false, false), 2, 1 << 30, 200);  // LN without weights, no b_U
}

TEST_CASE("GPT gradient matches finite differences on preset 2x64 (sampled)") {
  check_model_gradient(preset("2x64"), 1, 3, 300);
}

TEST_CASE("hook_names lists every hook in forward order") {
  auto n = hook_names(preset("2x64"));
  CHECK(n.size() == 2 + 2 * 17 + 2);
  CHECK(n.front() == "hook_embed");
  CHECK(n[2] == "blocks.0.hook_resid_pre");
  CHECK(n.back() == "ln_final.hook_normalized");
}

TEST_CASE("bf16 forward and backward agree with f32") {
  // Stated tolerance: bf16 rounds matmul inputs to 8 significant bits (rel. 2^-9 each), so
  // logits agree to a few percent of their range and gradients point the same way.
  Config c = preset("2x64");
  const int B = 4;
  GPT a(c, B, Precision::f32), b(c, B, Precision::bf16);
  if (!bf16_matmul_supported()) {  // e.g. AVX2-only CPUs: the model falls back to f32
    CHECK(b.precision() == Precision::f32);
    MESSAGE("SKIP the bf16 comparison: this CPU has no bf16 matmul in oneDNN (checked the f32 fallback)");
    return;
  }
  CHECK(b.precision() == Precision::bf16);
  init_params(a.params, 5);
  randomize(a.params, 5, 0.1);
  b.params = a.params;
  a.mark_params_changed();
  b.mark_params_changed();
  std::vector<uint8_t> tok, tgt;
  random_games(tok, tgt, B, c.n_ctx, c.d_vocab, 6);
  float la = a.forward(tok.data(), tgt.data(), B), lb = b.forward(tok.data(), tgt.data(), B);
  double worst = 0, range = 0;
  for (int i = 0; i < B * c.n_ctx * c.d_vocab; ++i) {
    worst = std::max(worst, double(std::fabs(a.logits()[i] - b.logits()[i])));
    range = std::max(range, double(std::fabs(a.logits()[i])));
  }
  INFO("f32 loss " << la << " bf16 loss " << lb << " worst logit diff " << worst << " of " << range);
  CHECK(worst < 0.03 * range);
  CHECK(std::fabs(la - lb) < 0.01 * la);
  a.zero_grad();
  b.zero_grad();
  a.backward();
  b.backward();
  for (auto& s : a.grads.specs) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = s.offset; i < s.offset + s.numel; ++i) {
      ab += double(a.grads.data[i]) * b.grads.data[i];
      aa += double(a.grads.data[i]) * a.grads.data[i];
      bb += double(b.grads.data[i]) * b.grads.data[i];
    }
    INFO(s.name);
    // b_K's true gradient is 0 (softmax ignores a constant added to every score): only noise
    if (s.name.ends_with("b_K")) continue;
    CHECK(ab / std::sqrt(aa * bb + 1e-30) > 0.99);
  }
}

TEST_CASE("hooks: cache shapes, edits seen downstream only, hooks do not change results") {
  for (Precision prec : {Precision::f32, Precision::bf16}) {
    Config c = preset("2x64");
    const int B = 3, T = c.n_ctx, V = c.d_vocab;
    GPT g(c, B, prec);
    init_params(g.params, 9);
    randomize(g.params, 9, 0.1);
    g.mark_params_changed();
    std::vector<uint8_t> tok, tgt;
    random_games(tok, tgt, B, T, V, 10);
    g.forward(tok.data(), nullptr, B);
    std::vector<float> plain(g.logits(), g.logits() + B * T * V);

    Hooks all;
    for (auto& n : hook_names(c)) all.cache_names.insert(n);
    g.forward(tok.data(), nullptr, B, &all);
    REQUIRE(all.cache.size() == hook_names(c).size());
    using S = std::vector<int64_t>;
    CHECK(all.cache["hook_embed"].shape == S{B, T, 64});
    CHECK(all.cache["blocks.1.ln1.hook_scale"].shape == S{B, T, 1});
    CHECK(all.cache["blocks.0.attn.hook_q"].shape == S{B, T, 4, 16});
    CHECK(all.cache["blocks.0.attn.hook_pattern"].shape == S{B, 4, T, T});
    CHECK(all.cache["blocks.1.mlp.hook_post"].shape == S{B, T, 256});
    CHECK(all.cache["ln_final.hook_normalized"].shape == S{B, T, 64});
    for (auto& [name, t] : all.cache) {
      size_t n = 1;
      for (auto s : t.shape) n *= s;
      REQUIRE(t.data.size() == n);
    }
    // the cached values are what they say they are
    auto& pat = all.cache["blocks.1.attn.hook_pattern"].data;
    for (int r = 0; r < B * 4 * T; r += 7) {
      double s = 0;
      for (int j = 0; j < T; ++j) s += pat[r * T + j];
      CHECK(std::fabs(s - 1.0) < 1e-5);
      // causal: the last key is seen by the last query only (softmax never gives an exact 0 there)
      if (r % T == T - 1) CHECK(pat[r * T + T - 1] > 0.0f);
      else CHECK(pat[r * T + T - 1] == 0.0f);
    }
    auto& pre = all.cache["blocks.0.hook_resid_pre"].data;
    auto& ao = all.cache["blocks.0.hook_attn_out"].data;
    auto& mid = all.cache["blocks.0.hook_resid_mid"].data;
    for (size_t i = 0; i < mid.size(); i += 101) CHECK(mid[i] == pre[i] + ao[i]);
    auto& emb = all.cache["hook_embed"].data;
    auto& pos = all.cache["hook_pos_embed"].data;
    for (size_t i = 0; i < pre.size(); i += 97) CHECK(pre[i] == emb[i] + pos[i]);
    // hook_normalized is the LN output (after the affine, as in TransformerLens): the logits are
    // ln_final.hook_normalized W_U + b_U
    auto& lnf = all.cache["ln_final.hook_normalized"].data;
    for (int row = 0; row < B * T; row += 17)
      for (int v = 0; v < V; v += 5) {
        double acc = g.params.w.b_U[v];
        for (int i = 0; i < 64; ++i) acc += double(lnf[row * 64 + i]) * g.params.w.W_U[i * V + v];
        CHECK(std::fabs(acc - g.logits()[row * V + v]) < (prec == Precision::f32 ? 1e-4 : 3e-2));
      }
    double worst = 0;
    for (int i = 0; i < B * T * V; ++i) worst = std::max(worst, double(std::fabs(plain[i] - g.logits()[i])));
    CHECK(worst < (prec == Precision::f32 ? 1e-5 : 2e-2));

    // edit: game 0, position 3, at blocks.0.hook_resid_post (not a constant shift: LN ignores those)
    Hooks base, edit;
    for (auto* h : {&base, &edit})
      h->cache_names = {"blocks.0.hook_resid_mid", "blocks.0.hook_resid_post",
                        "blocks.1.hook_resid_pre", "blocks.1.hook_resid_post"};
    edit.edits["blocks.0.hook_resid_post"] = [&](TensorView v) {
      CHECK(v.shape == S{B, T, 64});
      for (int i = 0; i < 64; ++i) v.data[3 * 64 + i] += (i % 3) - 1.0f;
    };
    g.forward(tok.data(), nullptr, B, &base);
    std::vector<float> before(g.logits(), g.logits() + B * T * V);
    g.forward(tok.data(), nullptr, B, &edit);
    const float* after = g.logits();
    CHECK(edit.cache["blocks.0.hook_resid_mid"].data == base.cache["blocks.0.hook_resid_mid"].data);
    CHECK(edit.cache["blocks.0.hook_resid_post"].data[3 * 64] ==
          base.cache["blocks.0.hook_resid_post"].data[3 * 64] - 1.0f);
    CHECK(edit.cache["blocks.1.hook_resid_pre"].data == edit.cache["blocks.0.hook_resid_post"].data);
    CHECK(edit.cache["blocks.1.hook_resid_post"].data != base.cache["blocks.1.hook_resid_post"].data);
    bool early_same = true, late_changed = false, other_games_same = true;
    for (int t = 0; t < T; ++t)
      for (int v = 0; v < V; ++v) {
        bool same = after[t * V + v] == before[t * V + v];
        if (t < 3) early_same = early_same && same;  // causal: earlier positions cannot see it
        if (t >= 3) late_changed = late_changed || !same;
      }
    for (int i = T * V; i < B * T * V; ++i) other_games_same = other_games_same && after[i] == before[i];
    CHECK(early_same);
    CHECK(late_changed);
    CHECK(other_games_same);
  }
}

TEST_CASE("forward/backward are bit-reproducible, smaller batches, bad input is refused") {
  for (Precision prec : {Precision::f32, Precision::bf16}) {
    Config c = preset("2x64");
    const int B = 4;
    GPT g(c, B, prec);
    init_params(g.params, 3);
    g.mark_params_changed();
    std::vector<uint8_t> tok, tgt;
    random_games(tok, tgt, B, c.n_ctx, c.d_vocab, 4);
    float l1 = g.forward(tok.data(), tgt.data(), B);
    g.zero_grad();
    g.backward();
    auto g1 = g.grads.data;
    float l2 = g.forward(tok.data(), tgt.data(), B);
    g.zero_grad();
    g.backward();
    CHECK(l1 == l2);
    CHECK(g1 == g.grads.data);
    // backward accumulates
    g.backward();
    CHECK(g.grads.data[100] == doctest::Approx(2 * g1[100]).epsilon(1e-5));
    // a smaller batch gives the same logits for the games it has
    std::vector<float> full(g.logits(), g.logits() + B * c.n_ctx * c.d_vocab);
    g.forward(tok.data(), nullptr, 2);
    for (int i = 0; i < 2 * c.n_ctx * c.d_vocab; i += 13)
      CHECK(g.logits()[i] == doctest::Approx(full[i]).epsilon(1e-4).scale(1e-4));
    CHECK_THROWS_AS(g.forward(tok.data(), nullptr, B + 1), ogpt::UserError);
    tok[5] = 61;
    CHECK_THROWS_AS(g.forward(tok.data(), nullptr, B), ogpt::UserError);
  }
}

TEST_CASE("training_bytes is what a training step allocates (train's --batch check relies on it)") {
  for (Precision prec : {Precision::f32, Precision::bf16})
    for (const char* name : {"2x64", "8x256"}) {
      const Config c = preset(name);
      const int B = 3;
      GPT g(c, B, prec);
      init_params(g.params, 5);
      g.mark_params_changed();
      std::vector<uint8_t> tok, tgt;
      random_games(tok, tgt, B, c.n_ctx, c.d_vocab, 6);
      g.forward(tok.data(), tgt.data(), B);
      g.zero_grad();
      g.backward();
      const std::string shape = name;
      CAPTURE(shape);
      CHECK(g.allocated_bytes() == GPT::training_bytes(c, B, prec));
      // affine in the batch (activations per game, plus the fixed weight copies)
      const int64_t one = GPT::training_bytes(c, 1, prec), two = GPT::training_bytes(c, 2, prec);
      CHECK(GPT::training_bytes(c, 10, prec) - one == 9 * (two - one));
      CHECK(two - one > 0);
    }
}
