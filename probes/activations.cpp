// Activation extraction: batches of games through the model, hook caches copied into columns.
#include "probes/activations.hpp"

#include <algorithm>
#include <memory>

#include "data/labels.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace ogpt::probes {

std::string hook_name(const std::string& hook, int layer, const model::Config& cfg) {
  std::string full;
  if (hook.find('.') != std::string::npos) {
    full = hook;
  } else {
    std::string h = hook;
    if (h.rfind("hook_", 0) == 0) h = h.substr(5);
    const int n = cfg.n_layers;
    auto range = [&](int lo, int hi) {
      if (layer < lo || layer > hi)
        throw UserError("--layer " + std::to_string(layer) + " is out of range for " + hook + ": choose " +
                            std::to_string(lo) + ".." + std::to_string(hi) + " (layer L = after L blocks; the model has " +
                            std::to_string(n) + ")",
                        kUsage);
    };
    if (h == "resid_post") {
      range(0, n);
      full = layer == 0 ? "blocks.0.hook_resid_pre" : "blocks." + std::to_string(layer - 1) + ".hook_resid_post";
    } else if (h == "resid_pre") {
      range(0, n);
      full = layer == n ? "blocks." + std::to_string(n - 1) + ".hook_resid_post"
                        : "blocks." + std::to_string(layer) + ".hook_resid_pre";
    } else if (h == "resid_mid" || h == "attn_out" || h == "mlp_out" || h == "mlp_post" || h == "post") {
      range(1, n);
      const std::string blk = "blocks." + std::to_string(layer - 1) + ".";
      full = h == "mlp_post" || h == "post" ? blk + "mlp.hook_post" : blk + "hook_" + h;
    } else {
      throw UserError("unknown hook '" + hook +
                          "' (choose resid_post, resid_pre, resid_mid, attn_out, mlp_out, mlp_post, or a full name "
                          "like blocks.3.hook_resid_post)",
                      kUsage);
    }
  }
  const auto names = model::hook_names(cfg);
  if (std::find(names.begin(), names.end(), full) == names.end())
    throw UserError("the model (" + cfg.describe() + ") has no hook '" + full + "'", kUsage);
  // Probes read [B,T,width] hooks; attention-shaped ones ([B,T,h,dh], [B,h,T,T]) are not positions x features.
  if (full.find("attn.hook_") != std::string::npos || full.find("hook_scale") != std::string::npos)
    throw UserError("hook '" + full + "' is not a [batch, position, features] activation; probe a residual, "
                    "attn_out, mlp_out or mlp.hook_post hook", kUsage);
  return full;
}

int hook_width(const std::string& full_name, const model::Config& cfg) {
  if (full_name.find("mlp.hook_pre") != std::string::npos || full_name.find("mlp.hook_post") != std::string::npos)
    return cfg.d_mlp;
  return cfg.d_model;
}

int hook_layer(const std::string& full_name, const model::Config& cfg) {
  if (full_name.rfind("ln_final", 0) == 0) return cfg.n_layers;
  if (full_name.rfind("blocks.", 0) != 0) return 0;
  const int l = std::atoi(full_name.c_str() + 7);
  return full_name.find(".hook_resid_pre") != std::string::npos ? l : l + 1;
}

const arma::fmat& Activations::at(const std::string& hook) const {
  for (size_t i = 0; i < hooks.size(); ++i)
    if (hooks[i] == hook) return X[i];
  throw UserError("activations for hook '" + hook + "' were not extracted");
}

std::vector<int> parse_positions(const std::string& s, int n_ctx, const char* option) {
  if (s == "all") return {};
  const auto bad = [&](const std::string& why) {
    return UserError(std::string(option) + " '" + s + "': " + why + " (give a slice A:B of the token positions 0.." +
                         std::to_string(n_ctx - 1) + ", B excluded, e.g. 5:54 or 5:-5, a list such as 5,10,20, or all)",
                     kUsage);
  };
  if (!s.empty() && s.find(':') == std::string::npos) {  // a list "t1,t2,...", increasing, or one position
    std::vector<int> moves;
    size_t at = 0;
    for (;;) {
      const size_t comma = s.find(',', at);
      const std::string part = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      if (part.empty() || part.size() > 6 || part.find_first_not_of("0123456789") != std::string::npos)
        throw bad("'" + part + "' is not a position");
      const int v = std::stoi(part);
      if (v >= n_ctx) throw bad("'" + part + "' is beyond the model's " + std::to_string(n_ctx) + " positions");
      if (!moves.empty() && v <= moves.back()) throw bad("the list is not increasing");
      moves.push_back(v);
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    if (int(moves.size()) == n_ctx) return {};  // every position is "all", as for 0:n_ctx
    return moves;
  }
  const size_t colon = s.find(':');
  if (colon == std::string::npos || s.find(':', colon + 1) != std::string::npos) throw bad("not A:B");
  auto bound = [&](const std::string& part, int fallback) {
    if (part.empty()) return fallback;
    const bool negative = part[0] == '-';
    const std::string digits = part.substr(negative);
    if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos)
      throw bad("'" + part + "' is not a position");
    const int v = std::stoi(digits);
    if (negative && v == 0) throw bad("'-0' counts from the end by nothing");
    if (v > n_ctx) throw bad("'" + part + "' is beyond the model's " + std::to_string(n_ctx) + " positions");
    return negative ? n_ctx - v : v;
  };
  const int a = bound(s.substr(0, colon), 0), b = bound(s.substr(colon + 1), n_ctx);
  if (a >= b) throw bad("the window is empty");
  if (a == 0 && b == n_ctx) return {};
  std::vector<int> moves;
  for (int t = a; t < b; ++t) moves.push_back(t);
  return moves;
}

std::string positions_label(const std::vector<int>& moves) {
  if (moves.empty()) return "all";
  bool contiguous = true;
  for (size_t i = 1; i < moves.size(); ++i) contiguous &= moves[i] == moves[i - 1] + 1;
  if (contiguous) return std::to_string(moves.front()) + ":" + std::to_string(moves.back() + 1);
  std::string s;
  for (int t : moves) {
    if (!s.empty()) s += ',';
    s += std::to_string(t);
  }
  return s;
}

std::optional<bool> in_positions(const std::string& recorded, int t, int n_ctx) {
  if (recorded.empty()) return std::nullopt;
  try {
    const std::vector<int> w = parse_positions(recorded, n_ctx);
    return w.empty() || std::find(w.begin(), w.end(), t) != w.end();
  } catch (const UserError&) {
    return std::nullopt;
  }
}

void column_layout(const std::vector<data::Game>& games, int n_ctx, const std::vector<int>& moves,
                   std::vector<uint64_t>& game_offset, std::vector<uint8_t>& move) {
  std::vector<bool> keep(60, moves.empty());
  for (int t : moves)
    if (t >= 0 && t < 60) keep[t] = true;
  const size_t G = games.size();
  game_offset.assign(G + 1, 0);
  for (size_t g = 0; g < G; ++g) {
    const int n = std::min<int>(games[g].length, n_ctx);
    uint64_t k = 0;
    for (int t = 0; t < n; ++t) k += keep[t];
    game_offset[g + 1] = game_offset[g] + k;
  }
  if (G > 0 && game_offset[G] == 0 && !moves.empty())
    throw UserError("no positions to probe: every game is shorter than the window " + positions_label(moves), kUsage);
  move.resize(game_offset[G]);
  for (size_t g = 0; g < G; ++g) {
    uint64_t c = game_offset[g];
    for (int t = 0; t < std::min<int>(games[g].length, n_ctx); ++t)
      if (keep[t]) move[c++] = uint8_t(t);
  }
}

Activations extract_activations(const model::ParamBlock& params, const std::vector<data::Game>& games,
                                const ExtractOptions& opt) {
  const model::Config& cfg = params.cfg;
  const int T = cfg.n_ctx;
  Activations a;
  a.cfg = cfg;
  a.hooks = opt.hooks;
  a.games = games;
  a.window = opt.moves;
  // Column layout first, so every matrix is allocated once (no growth, no copies).
  column_layout(games, T, opt.moves, a.game_offset, a.move);
  const size_t G = games.size();
  const uint64_t P = a.move.size();
  a.X.resize(opt.hooks.size());
  for (size_t h = 0; h < opt.hooks.size(); ++h) a.X[h].set_size(hook_width(opt.hooks[h], cfg), P);
  if (G == 0) return a;

  const int B = std::max(1, std::min<int>(opt.batch, int(G)));
  model::GPT gpt(cfg, B, opt.precision);
  gpt.params = params;
  gpt.mark_params_changed();
  std::vector<uint8_t> tokens(size_t(B) * T), targets(size_t(B) * T);
  model::Hooks hooks;
  hooks.cache_names.insert(opt.hooks.begin(), opt.hooks.end());
  util::Progress bar("extract", G, "games", opt.progress);

  for (size_t g0 = 0; g0 < G; g0 += B) {
    const int nb = int(std::min<size_t>(B, G - g0));
    for (int b = 0; b < nb; ++b) data::game_to_tokens(games[g0 + b], &tokens[size_t(b) * T], &targets[size_t(b) * T]);
    hooks.cache.clear();
    gpt.forward(tokens.data(), nullptr, nb, &hooks);
    for (size_t h = 0; h < opt.hooks.size(); ++h) {
      const auto it = hooks.cache.find(opt.hooks[h]);
      if (it == hooks.cache.end()) throw std::logic_error("forward did not cache " + opt.hooks[h]);
      const model::Tensor& ten = it->second;  // [nb, T, width] row-major
      const int64_t width = ten.shape.back();
      if (width != int64_t(a.X[h].n_rows) || int64_t(ten.data.size()) < int64_t(nb) * T * width)
        throw std::logic_error("unexpected cache shape for " + opt.hooks[h]);
      for (int b = 0; b < nb; ++b) {
        uint64_t c = a.game_offset[g0 + b];
        for (uint64_t e = a.game_offset[g0 + b + 1]; c < e; ++c) {
          const int t = a.move[c];
          std::copy_n(ten.data.data() + (int64_t(b) * T + t) * width, width, a.X[h].colptr(c));
        }
      }
    }
    bar.update(g0 + nb);
  }
  bar.finish();
  return a;
}

std::vector<uint8_t> make_targets(const std::vector<data::Game>& games, const std::vector<uint64_t>& game_offset,
                                  const std::vector<uint8_t>& move, Target target) {
  std::vector<uint8_t> y(move.size() * 64);
  const int64_t G = int64_t(games.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t g = 0; g < G; ++g) {
    data::PositionLabels lab[60];
    if (game_offset[g + 1] == game_offset[g]) continue;
    data::label_game(games[g], lab);
    for (uint64_t c = game_offset[g]; c < game_offset[g + 1]; ++c) {
      const data::PositionLabels& L = lab[move[c]];
      uint8_t* out = &y[c * 64];
      switch (target) {
        case Target::black_white: std::copy_n(L.black_white, 64, out); break;
        case Target::mine_theirs: std::copy_n(L.mine_theirs, 64, out); break;
        case Target::empty:
          for (int s = 0; s < 64; ++s) out[s] = uint8_t((L.empty >> s) & 1);
          break;
        case Target::flipped:
          for (int s = 0; s < 64; ++s) out[s] = uint8_t((L.flipped >> s) & 1);
          break;
        case Target::legal:
          for (int s = 0; s < 64; ++s) out[s] = uint8_t((L.legal >> s) & 1);
          break;
      }
    }
  }
  return y;
}

std::vector<uint8_t> make_targets(const Activations& a, Target target) {
  return make_targets(a.games, a.game_offset, a.move, target);
}

Split split_by_game(const std::vector<uint64_t>& game_offset, double val_fraction, double test_fraction) {
  const uint64_t G = game_offset.empty() ? 0 : game_offset.size() - 1;
  Split s;
  s.val_games = uint64_t(double(G) * val_fraction + 0.5);
  s.test_games = uint64_t(double(G) * test_fraction + 0.5);
  if (G >= 3) {  // every part gets at least one game when there are enough
    s.val_games = std::max<uint64_t>(s.val_games, val_fraction > 0);
    s.test_games = std::max<uint64_t>(s.test_games, test_fraction > 0);
  }
  if (s.val_games + s.test_games >= G) throw UserError("too few games to split (" + std::to_string(G) + ")");
  s.train_games = G - s.val_games - s.test_games;
  s.train_begin = game_offset[0];
  s.train_end = s.val_begin = game_offset[s.train_games];
  s.val_end = s.test_begin = game_offset[s.train_games + s.val_games];
  s.test_end = game_offset[G];
  return s;
}

}  // namespace ogpt::probes
