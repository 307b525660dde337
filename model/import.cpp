#include "model/import.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include "model/checkpoint.hpp"
#include "model/pth.hpp"
#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace ogpt::model {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

StateDict read_state_dict(const std::string& path, ImportInfo* info) {
  std::string bytes = util::read_file(path);
  ImportInfo local;
  ImportInfo& inf = info ? *info : local;
  std::map<std::string, std::string> dtypes;
  StateDict sd;
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0) {
    auto f = parse_pth(bytes, path);
    inf.format = "pth";
    inf.nested_under = f.nested_under;
    dtypes = std::move(f.dtypes);
    sd = std::move(f.tensors);
  } else if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x80) {
    parse_pth(bytes, path);  // throws the legacy-format message
  } else {
    auto f = parse_safetensors(bytes, path);
    inf.format = "safetensors";
    dtypes = std::move(f.dtypes);
    sd = std::move(f.tensors);
  }
  inf.stored_dtypes.clear();
  for (auto& [k, d] : dtypes) ++inf.stored_dtypes[d];
  return sd;
}

namespace {

bool is_buffer(const std::string& k) {
  return k.ends_with(".attn.mask") || k.ends_with(".attn.IGNORE") || k.ends_with(".attn.bias") ||
         k.ends_with("rotary_sin") || k.ends_with("rotary_cos") || k.find("hook_") != std::string::npos;
}

const Tensor& need(const StateDict& sd, const std::string& k, const std::string& what) {
  auto it = sd.find(k);
  if (it == sd.end()) throw UserError(what + ": missing tensor '" + k + "'");
  return it->second;
}

int64_t dim(const Tensor& t, size_t i, size_t rank, const std::string& k, const std::string& what) {
  if (t.shape.size() != rank)
    throw UserError(what + ": tensor '" + k + "' has shape " + shape_string(t.shape) + ", expected " +
                    std::to_string(rank) + " dimensions");
  return t.shape[i];
}

// minGPT (Li et al.) -> TransformerLens names and layouts.
StateDict convert_mingpt(const StateDict& in, int n_heads, const std::string& what) {
  StateDict out;
  const Tensor& W_E = need(in, "tok_emb.weight", what);
  const int64_t d = dim(W_E, 1, 2, "tok_emb.weight", what);
  if (n_heads <= 0 || d % n_heads != 0)
    throw UserError(what + ": d_model " + std::to_string(d) + " is not divisible by n_heads " +
                    std::to_string(n_heads) + " (minGPT files need --n-heads)");
  const int64_t h = n_heads, dh = d / n_heads;
  out["embed.W_E"] = W_E;
  Tensor pos = need(in, "pos_emb", what);  // [1,T,d]
  if (pos.shape.size() == 3 && pos.shape[0] == 1) pos.shape.erase(pos.shape.begin());
  out["pos_embed.W_pos"] = pos;
  auto transpose2 = [&](const std::string& k) {  // [r,c] -> [c,r]
    const Tensor& t = need(in, k, what);
    const int64_t r = dim(t, 0, 2, k, what), c = t.shape[1];
    Tensor o{{c, r}, std::vector<float>(t.data.size())};
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) o.data[j * r + i] = t.data[i * c + j];
    return o;
  };
  auto copy = [&](const std::string& from, const std::string& to) {
    auto it = in.find(from);
    if (it != in.end()) out[to] = it->second;
  };
  for (int l = 0;; ++l) {
    const std::string m = "blocks." + std::to_string(l) + ".";
    if (!in.count(m + "attn.query.weight")) break;
    copy(m + "ln1.weight", m + "ln1.w");
    copy(m + "ln1.bias", m + "ln1.b");
    copy(m + "ln2.weight", m + "ln2.w");
    copy(m + "ln2.bias", m + "ln2.b");
    for (auto [from, to] : {std::pair{"query", "Q"}, {"key", "K"}, {"value", "V"}}) {
      const std::string wk = m + "attn." + from + ".weight", bk = m + "attn." + from + ".bias";
      const Tensor& w = need(in, wk, what);  // [(h dh), d]: row h*dh+e, column m
      if (w.shape != std::vector<int64_t>{d, d})
        throw UserError(what + ": tensor '" + wk + "' has shape " + shape_string(w.shape) +
                        ", expected " + shape_string({d, d}));
      Tensor W{{h, d, dh}, std::vector<float>(w.data.size())};
      for (int64_t i = 0; i < h; ++i)
        for (int64_t mm = 0; mm < d; ++mm)
          for (int64_t e = 0; e < dh; ++e) W.data[(i * d + mm) * dh + e] = w.data[(i * dh + e) * d + mm];
      out[m + "attn.W_" + to] = std::move(W);
      Tensor b = need(in, bk, what);
      b.shape = {h, dh};
      if (b.data.size() != static_cast<size_t>(d))
        throw UserError(what + ": tensor '" + bk + "' has " + std::to_string(b.data.size()) +
                        " values, expected " + std::to_string(d));
      out[m + "attn.b_" + to] = std::move(b);
    }
    const Tensor& p = need(in, m + "attn.proj.weight", what);  // [d, (h dh)]
    if (p.shape != std::vector<int64_t>{d, d})
      throw UserError(what + ": tensor '" + m + "attn.proj.weight' has shape " + shape_string(p.shape) +
                      ", expected " + shape_string({d, d}));
    Tensor W_O{{h, dh, d}, std::vector<float>(p.data.size())};
    for (int64_t i = 0; i < h; ++i)
      for (int64_t e = 0; e < dh; ++e)
        for (int64_t mm = 0; mm < d; ++mm) W_O.data[(i * dh + e) * d + mm] = p.data[mm * d + i * dh + e];
    out[m + "attn.W_O"] = std::move(W_O);
    copy(m + "attn.proj.bias", m + "attn.b_O");
    out[m + "mlp.W_in"] = transpose2(m + "mlp.0.weight");
    copy(m + "mlp.0.bias", m + "mlp.b_in");
    out[m + "mlp.W_out"] = transpose2(m + "mlp.2.weight");
    copy(m + "mlp.2.bias", m + "mlp.b_out");
  }
  copy("ln_f.weight", "ln_final.w");
  copy("ln_f.bias", "ln_final.b");
  out["unembed.W_U"] = transpose2("head.weight");
  copy("head.bias", "unembed.b_U");
  // keep whatever else is there so unexpected keys are still reported
  static const std::set<std::string> known_suffixes = {
      "ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias", "attn.query.weight", "attn.query.bias",
      "attn.key.weight", "attn.key.bias", "attn.value.weight", "attn.value.bias", "attn.proj.weight",
      "attn.proj.bias", "mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias"};
  for (auto& [k, t] : in) {
    if (k == "tok_emb.weight" || k == "pos_emb" || k == "head.weight" || k == "head.bias" ||
        k == "ln_f.weight" || k == "ln_f.bias")
      continue;
    bool known = false;
    if (k.starts_with("blocks."))
      for (auto& s : known_suffixes) known = known || k.ends_with("." + s);
    if (!known) out[k] = t;
  }
  return out;
}

// Older TransformerLens: W_Q/K/V [h, dh, d] and W_O [h, d, dh]; now [h, d, dh] and [h, dh, d].
void fix_old_tl_layout(StateDict& sd, int64_t d) {
  for (auto& [k, t] : sd) {
    const bool qkv = k.ends_with("attn.W_Q") || k.ends_with("attn.W_K") || k.ends_with("attn.W_V");
    const bool o = k.ends_with("attn.W_O");
    if (t.shape.size() != 3 || t.shape[1] == t.shape[2]) continue;
    if (!((qkv && t.shape[2] == d && t.shape[1] != d) || (o && t.shape[1] == d && t.shape[2] != d))) continue;
    const int64_t h = t.shape[0], a = t.shape[1], b = t.shape[2];
    std::vector<float> n(t.data.size());
    for (int64_t i = 0; i < h; ++i)
      for (int64_t x = 0; x < a; ++x)
        for (int64_t y = 0; y < b; ++y) n[(i * b + y) * a + x] = t.data[(i * a + x) * b + y];
    t.data = std::move(n);
    t.shape = {h, b, a};
  }
}

}  // namespace

Config infer_config(const StateDict& sd, const std::string& what) {
  // A size the file claims, checked before it becomes an int (and before ParamBlock allocates).
  const auto size = [&](int64_t v, const std::string& name) {
    if (v <= 0 || v > (int64_t{1} << 20))
      throw UserError(what + ": implausible size " + std::to_string(v) + " in the shape of " + name);
    return static_cast<int>(v);
  };
  Config c;
  const Tensor& W_E = need(sd, "embed.W_E", what);
  c.d_vocab = size(dim(W_E, 0, 2, "embed.W_E", what), "embed.W_E");
  c.d_model = size(W_E.shape[1], "embed.W_E");
  c.n_ctx = size(dim(need(sd, "pos_embed.W_pos", what), 0, 2, "pos_embed.W_pos", what), "pos_embed.W_pos");
  c.n_layers = 0;
  while (c.n_layers <= 1024 && sd.count("blocks." + std::to_string(c.n_layers) + ".attn.W_Q")) ++c.n_layers;
  if (c.n_layers == 0) throw UserError(what + ": no blocks.0.attn.W_Q: not an Othello-GPT state dict");
  const Tensor& W_Q = sd.at("blocks.0.attn.W_Q");
  c.n_heads = size(dim(W_Q, 0, 3, "blocks.0.attn.W_Q", what), "blocks.0.attn.W_Q");
  c.d_head = size(W_Q.shape[2], "blocks.0.attn.W_Q");
  c.d_mlp = size(dim(need(sd, "blocks.0.mlp.W_in", what), 1, 2, "blocks.0.mlp.W_in", what), "blocks.0.mlp.W_in");
  c.has_ln_weights = sd.count("blocks.0.ln1.w") > 0;
  c.has_unembed_bias = sd.count("unembed.b_U") > 0;
  const Tensor& W_U = need(sd, "unembed.W_U", what);
  if (dim(W_U, 1, 2, "unembed.W_U", what) != c.d_vocab)
    throw UserError(what + ": unembed.W_U has shape " + shape_string(W_U.shape) + " but the input vocabulary is " +
                    std::to_string(c.d_vocab) + "; a d_vocab_out different from d_vocab is not supported");
  if (!c.plausible()) throw UserError(what + ": implausible model configuration " + c.describe());
  return c;
}

ParamBlock import_state_dict(const StateDict& in, const std::string& what, const ImportOptions& opt,
                             ImportInfo* info) {
  ImportInfo local;
  ImportInfo& inf = info ? *info : local;
  StateDict sd;
  for (auto& [k, t] : in) sd[k.starts_with("module.") ? k.substr(7) : k] = t;  // DataParallel
  if (sd.count("tok_emb.weight")) {
    inf.layout = "minGPT";
    sd = convert_mingpt(sd, opt.n_heads, what);
  } else if (sd.count("embed.W_E")) {
    inf.layout = "TransformerLens";
    fix_old_tl_layout(sd, dim(sd.at("embed.W_E"), 1, 2, "embed.W_E", what));
  } else {
    std::string some;
    int n = 0;
    for (auto& [k, t] : sd)
      if (n++ < 4) some += (some.empty() ? "" : ", ") + k;
    throw UserError(what + ": neither TransformerLens (embed.W_E) nor minGPT (tok_emb.weight) names; keys: " + some +
                    (sd.size() > 4 ? ", ..." : ""));
  }
  const Config cfg = infer_config(sd, what);
  ParamBlock p(cfg);
  std::set<std::string> used;
  for (auto& s : p.specs) {
    auto it = sd.find(s.name);
    if (it == sd.end())
      throw UserError(what + ": missing tensor '" + s.name + "' (expected shape " + shape_string(s.shape) +
                      " for a " + cfg.describe() + " model)");
    if (it->second.shape != s.shape)
      throw UserError(what + ": tensor '" + s.name + "' has shape " + shape_string(it->second.shape) +
                      ", expected " + shape_string(s.shape) + " for a " + cfg.describe() + " model");
    for (float v : it->second.data)
      if (!std::isfinite(v)) throw UserError(what + ": tensor '" + s.name + "' holds non-finite values");
    std::copy(it->second.data.begin(), it->second.data.end(), p.data.begin() + static_cast<std::ptrdiff_t>(s.offset));
    used.insert(s.name);
  }
  inf.skipped.clear();
  for (auto& [k, t] : sd) {
    if (used.count(k)) continue;
    if (is_buffer(k)) {
      inf.skipped.push_back(k);
      continue;
    }
    throw UserError(what + ": unexpected tensor '" + k + "' " + shape_string(t.shape) + " (not a parameter of a " +
                    cfg.describe() + (cfg.has_ln_weights ? "" : " LN-folded") + " model)");
  }
  return p;
}

ParamBlock import_model_file(const std::string& path, const ImportOptions& opt, ImportInfo* info) {
  ImportInfo local;
  ImportInfo& inf = info ? *info : local;
  char magic[8] = {};
  std::ifstream(path, std::ios::binary).read(magic, 8);
  if (std::memcmp(magic, "OGPTCKPT", 8) == 0) {
    // The project's own checkpoint (e.g. a training run's latest.ckpt): re-saving it drops the
    // optimizer state and can store the weights in bf16 (how the shipped model is made).
    auto c = load_checkpoint(path);
    inf.format = "ogpt-checkpoint";
    inf.layout = "TransformerLens";
    inf.stored_dtypes.clear();
    inf.stored_dtypes[c.dtype == WeightDtype::bf16 ? "BF16" : "F32"] = static_cast<int>(param_specs(c.params.cfg).size());
    inf.extra = std::move(c.extra);
    return std::move(c.params);
  }
  StateDict sd = read_state_dict(path, &inf);
  return import_state_dict(sd, path, opt, &inf);
}

}  // namespace ogpt::model
