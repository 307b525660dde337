#include "model/params.hpp"

#include <cmath>
#include <random>

#include "util/error.hpp"

namespace ogpt::model {

std::vector<ParamSpec> param_specs(const Config& c) {
  std::vector<ParamSpec> s;
  size_t off = 0;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool decay) {
    size_t n = 1;
    for (auto d : shape) n *= static_cast<size_t>(d);
    s.push_back({std::move(name), std::move(shape), off, n, decay});
    off += n;
  };
  const int64_t d = c.d_model, h = c.n_heads, dh = c.d_head, dm = c.d_mlp, V = c.d_vocab,
                T = c.n_ctx;
  add("embed.W_E", {V, d}, true);
  add("pos_embed.W_pos", {T, d}, true);
  for (int l = 0; l < c.n_layers; ++l) {
    std::string p = "blocks." + std::to_string(l) + ".";
    if (c.has_ln_weights) {
      add(p + "ln1.w", {d}, false);
      add(p + "ln1.b", {d}, false);
    }
    add(p + "attn.W_Q", {h, d, dh}, true);
    add(p + "attn.W_K", {h, d, dh}, true);
    add(p + "attn.W_V", {h, d, dh}, true);
    add(p + "attn.b_Q", {h, dh}, false);
    add(p + "attn.b_K", {h, dh}, false);
    add(p + "attn.b_V", {h, dh}, false);
    add(p + "attn.W_O", {h, dh, d}, true);
    add(p + "attn.b_O", {d}, false);
    if (c.has_ln_weights) {
      add(p + "ln2.w", {d}, false);
      add(p + "ln2.b", {d}, false);
    }
    add(p + "mlp.W_in", {d, dm}, true);
    add(p + "mlp.b_in", {dm}, false);
    add(p + "mlp.W_out", {dm, d}, true);
    add(p + "mlp.b_out", {d}, false);
  }
  if (c.has_ln_weights) {
    add("ln_final.w", {d}, false);
    add("ln_final.b", {d}, false);
  }
  add("unembed.W_U", {d, V}, true);
  if (c.has_unembed_bias) add("unembed.b_U", {V}, false);
  return s;
}

size_t param_count(const Config& cfg) {
  auto s = param_specs(cfg);
  return s.back().offset + s.back().numel;
}

const ParamSpec* find_spec(const std::vector<ParamSpec>& specs, const std::string& name) {
  for (auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

Weights make_views(const Config& c, float* base) {
  auto specs = param_specs(c);
  auto at = [&](const std::string& n) -> float* {
    auto* s = find_spec(specs, n);
    return s ? base + s->offset : nullptr;
  };
  Weights w;
  w.W_E = at("embed.W_E");
  w.W_pos = at("pos_embed.W_pos");
  for (int l = 0; l < c.n_layers; ++l) {
    std::string p = "blocks." + std::to_string(l) + ".";
    BlockWeights b;
    b.ln1_w = at(p + "ln1.w");
    b.ln1_b = at(p + "ln1.b");
    b.W_Q = at(p + "attn.W_Q");
    b.W_K = at(p + "attn.W_K");
    b.W_V = at(p + "attn.W_V");
    b.b_Q = at(p + "attn.b_Q");
    b.b_K = at(p + "attn.b_K");
    b.b_V = at(p + "attn.b_V");
    b.W_O = at(p + "attn.W_O");
    b.b_O = at(p + "attn.b_O");
    b.ln2_w = at(p + "ln2.w");
    b.ln2_b = at(p + "ln2.b");
    b.W_in = at(p + "mlp.W_in");
    b.b_in = at(p + "mlp.b_in");
    b.W_out = at(p + "mlp.W_out");
    b.b_out = at(p + "mlp.b_out");
    w.blocks.push_back(b);
  }
  w.ln_final_w = at("ln_final.w");
  w.ln_final_b = at("ln_final.b");
  w.W_U = at("unembed.W_U");
  w.b_U = at("unembed.b_U");
  return w;
}

ParamBlock::ParamBlock(const Config& c)
    : cfg(c), specs(param_specs(c)), data(param_count(c), 0.0f), w(make_views(c, data.data())) {}

ParamBlock::ParamBlock(const ParamBlock& o)
    : cfg(o.cfg), specs(o.specs), data(o.data), w(make_views(cfg, data.data())) {}

ParamBlock& ParamBlock::operator=(const ParamBlock& o) {
  if (this != &o) {
    cfg = o.cfg;
    specs = o.specs;
    data = o.data;
    w = make_views(cfg, data.data());
  }
  return *this;
}

float* ParamBlock::get(const std::string& name) {
  auto* s = find_spec(specs, name);
  if (!s) throw UserError("no parameter named '" + name + "' in a " + cfg.describe() + " model");
  return data.data() + s->offset;
}

const float* ParamBlock::get(const std::string& name) const {
  return const_cast<ParamBlock*>(this)->get(name);
}

void ParamBlock::zero() { std::fill(data.begin(), data.end(), 0.0f); }

void init_params(ParamBlock& p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  const float resid_scale = 1.0f / std::sqrt(2.0f * p.cfg.n_layers);
  for (auto& s : p.specs) {
    float* x = p.data.data() + s.offset;
    bool is_ln_w = s.name.ends_with(".w") && (s.name.find("ln") != std::string::npos);
    if (is_ln_w) {
      std::fill(x, x + s.numel, 1.0f);
    } else if (s.shape.size() >= 2) {
      float scale = (s.name.ends_with("W_O") || s.name.ends_with("W_out")) ? resid_scale : 1.0f;
      for (size_t i = 0; i < s.numel; ++i) x[i] = normal(rng) * scale;
    } else {
      std::fill(x, x + s.numel, 0.0f);
    }
  }
}

}  // namespace ogpt::model
