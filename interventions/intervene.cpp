#include "interventions/intervene.hpp"

#include <algorithm>
#include <bit>
#include <memory>
#include <cmath>
#include <exception>
#include <filesystem>
#include <set>

#include "othello/board.hpp"
#include "othello/game_record.hpp"
#include "probes/activations.hpp"
#include "probes/probe_file.hpp"
#include "util/error.hpp"

namespace ogpt::interventions {

namespace fs = std::filesystem;
using othello::Bitboard;

// ---- probe sets --------------------------------------------------------------------------------

namespace {
std::string layer_list(const std::map<int, probes::Probe>& m) {
  std::string s;
  for (auto& [l, p] : m) {
    if (!s.empty()) s += ',';
    s += std::to_string(l);
  }
  return s.empty() ? "none" : s;
}
bool is_board_basis(const probes::Probe& p) {
  return p.C == 3 && (p.target == probes::Target::mine_theirs || p.target == probes::Target::black_white);
}
// Edits are keyed by depth in the residual stream (layer L = after L blocks). A probe at
// hook_attn_out, hook_resid_mid or hook_mlp_out also reports a layer (probes::hook_layer) and would
// take the residual probe's place at that depth, so only residual probes drive edits; --hook
// chooses where the change is written.
bool is_residual(const probes::Probe& p) {
  return p.hook.ends_with(".hook_resid_pre") || p.hook.ends_with(".hook_resid_post");
}
}  // namespace

std::string ProbeSet::describe() const {
  return "linear probes at layers " + layer_list(linear) + "; mlp probes at layers " + layer_list(mlp);
}

void add_probe(ProbeSet& set, probes::Probe p) {
  if (!is_board_basis(p) || !is_residual(p)) return;
  auto& m = p.kind == probes::Kind::linear ? set.linear : set.mlp;
  auto it = m.find(p.layer);
  // Two probes of one kind at one layer: prefer the mine/theirs basis (the model's own frame).
  if (it != m.end() && it->second.target == probes::Target::mine_theirs) return;
  m[p.layer] = std::move(p);
}

ProbeSet load_probe_set(const std::string& path) {
  ProbeSet set;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw IoError(path + ": no such probe file or directory");
  for (const std::string& f : probes::probe_files_at(path)) add_probe(set, probes::load_probe(f));
  if (set.empty())
    throw UserError(path + ": no probe of a board basis (mine-theirs or black-white) at a residual-stream hook "
                           "(hook_resid_pre / hook_resid_post) found");
  return set;
}

const char* method_name(Method m) { return m == Method::linear ? "linear" : "gradient"; }

Method parse_method(const std::string& s) {
  if (s == "linear") return Method::linear;
  if (s == "gradient") return Method::gradient;
  throw UserError("unknown intervention method '" + s + "' (choose linear or gradient)", kUsage);
}

const char* positions_name(Positions p) { return p == Positions::last ? "last" : "since"; }

Positions parse_positions(const std::string& s) {
  if (s == "last") return Positions::last;
  if (s == "since") return Positions::since;
  throw UserError("unknown positions '" + s + "' (choose last or since)", kUsage);
}

float default_scale(Positions p, bool added_at_hook) {
  if (added_at_hook) return 1.0f;
  return p == Positions::last ? 4.0f : 2.0f;
}

const std::map<int, probes::Probe>& probes_for(const ProbeSet& set, Method m) {
  if (m == Method::linear) return set.linear;
  return set.mlp.empty() ? set.linear : set.mlp;
}

int default_layer(Method m, const ProbeSet& set, int n_layers) {
  const auto& ps = probes_for(set, m);
  if (ps.empty()) return -1;
  // Linear: 5/8 of the depth, rounded (layer 5 of 8); gradient: half of it. See intervene.hpp.
  const int want = std::max(1, m == Method::linear ? (5 * n_layers + 4) / 8 : n_layers / 2);
  int best = ps.begin()->first;
  for (auto& [l, p] : ps)
    if (std::abs(l - want) < std::abs(best - want)) best = l;
  return best;
}

int probe_class(const probes::Probe& p, CellState state, othello::Color to_move) {
  if (state == CellState::empty) return 0;
  if (p.target == probes::Target::mine_theirs) return state == CellState::mine ? 1 : 2;
  // Black/white basis: mine = the colour of the player to move.
  const bool black = (state == CellState::mine) == (to_move == othello::Color::black);
  return black ? 1 : 2;
}

// ---- running the model -------------------------------------------------------------------------

namespace {

struct EditLayer {
  const probes::Probe* probe;
  std::string hook;  // where the edit is written
};

std::vector<EditLayer> plan_layers(const model::GPT& gpt, const ProbeSet& set, const InterventionOptions& opt) {
  const auto& ps = probes_for(set, opt.method);
  const int n_layers = gpt.cfg().n_layers;
  const int start = opt.layer >= 0 ? opt.layer : default_layer(opt.method, set, n_layers);
  if (ps.find(start) == ps.end())
    throw UserError(std::string("no ") + (opt.method == Method::linear ? "linear" : "mlp or linear") +
                    " probe at layer " + std::to_string(start) + " (probes at layers " + layer_list(ps) + ")");
  const auto names = model::hook_names(gpt.cfg());
  const std::set<std::string> known(names.begin(), names.end());
  std::vector<EditLayer> out;
  for (auto& [l, p] : ps) {
    if (l < start || (l > start && !opt.all_later)) continue;
    if (p.d != gpt.cfg().d_model)
      throw UserError("probe at layer " + std::to_string(l) + " reads " + std::to_string(p.d) +
                      " features but the model's d_model is " + std::to_string(gpt.cfg().d_model));
    if (l > n_layers) throw UserError("probe at layer " + std::to_string(l) + " but the model has " +
                                      std::to_string(n_layers) + " layers");
    std::string hook = p.hook;
    if (!opt.hook_suffix.empty()) {
      if (l < 1) throw UserError("--hook needs a start layer >= 1");
      hook = "blocks." + std::to_string(l - 1) + "." + opt.hook_suffix;
    }
    if (!known.count(hook) || !known.count(p.hook)) throw UserError("unknown hook '" + hook + "' for layer " + std::to_string(l));
    // The change is a d_model vector added at one position: the hook it is written to must be
    // [batch, position, d_model] (not attention-shaped, not a LayerNorm scale, not d_mlp wide).
    if (hook != p.hook) {
      probes::hook_name(hook, 0, gpt.cfg());  // throws for attention-shaped and scale hooks
      if (probes::hook_width(hook, gpt.cfg()) != gpt.cfg().d_model)
        throw UserError("--hook " + opt.hook_suffix + ": " + hook + " is " +
                        std::to_string(probes::hook_width(hook, gpt.cfg())) + " wide, the edit is d_model = " +
                        std::to_string(gpt.cfg().d_model));
    }
    out.push_back(EditLayer{&p, hook});
  }
  return out;
}

void apply_one(float* x, const probes::Probe& p, int cell, CellState state, othello::Color to_move,
               const InterventionOptions& opt) {
  const int cls = probe_class(p, state, to_move);
  if (opt.method == Method::linear)
    linear_edit(x, p, cell, cls, opt.linear);
  else
    gradient_edit(x, p, cell, cls, opt.gradient);
}

void apply_edit(float* x, const probes::Probe& p, const BoardEdit& e, othello::Color to_move,
                const InterventionOptions& opt) {
  for (size_t k = 0; k < e.cells.size(); ++k) apply_one(x, p, e.cells[k], e.states[k], to_move, opt);
}

}  // namespace

std::vector<EditAt> plan_positions(const std::vector<int>& moves, const BoardEdit& e, othello::Color to_move,
                                   Positions positions) {
  const int last = static_cast<int>(moves.size()) - 1;
  std::vector<EditAt> out;
  if (positions == Positions::last) {
    for (size_t k = 0; k < e.cells.size(); ++k) out.push_back({last, e.cells[k], e.states[k], to_move});
    return out;
  }
  const std::vector<othello::Board> boards = othello::replay(moves);
  for (size_t k = 0; k < e.cells.size(); ++k) {
    const int cell = e.cells[k];
    auto colour_at = [&](const othello::Board& b) {  // 0 empty, 1 black, 2 white
      return (b.black() >> cell & 1) ? 1 : (b.white() >> cell & 1) ? 2 : 0;
    };
    int from = 0;
    for (int t = 0; t <= last; ++t)
      if (colour_at(boards[t + 1]) != colour_at(boards[t])) from = t;
    for (int t = from; t <= last; ++t) {
      const othello::Color mover = boards[t + 1].to_move;
      CellState s = e.states[k];
      if (s != CellState::empty && mover != to_move) s = s == CellState::mine ? CellState::theirs : CellState::mine;
      out.push_back({t, cell, s, mover});
    }
  }
  return out;
}

namespace {

// f(r) for r = 0..n-1 on the OpenMP threads: the rows' edits are independent, and the gradient
// edit's Adam loop (one small probe forward and backward per step, up to 1000 steps a row and
// layer) would otherwise run on one core. The first exception is rethrown on the caller's thread.
template <class F>
void for_each_row(int n, const F& f) {
  std::exception_ptr err;
#pragma omp parallel for schedule(dynamic)
  for (int r = 0; r < n; ++r) {
    try {
      f(r);
    } catch (...) {
#pragma omp critical(ogpt_edit_rows)
      if (!err) err = std::current_exception();
    }
  }
  if (err) std::rethrow_exception(err);
}

void read_probs(Prediction& out, const float* logits_row, int V) {
  // Softmax over the move tokens 1..V-1 (padding excluded), in double for stability.
  float mx = -INFINITY;
  for (int t = 1; t < V; ++t) mx = std::max(mx, logits_row[t]);
  double sum = 0;
  for (int t = 1; t < V; ++t) sum += std::exp(double(logits_row[t]) - mx);
  std::fill(out.probs, out.probs + 64, 0.0f);
  for (int t = 1; t < V; ++t) {
    const int sq = othello::token_to_square(t);
    if (sq >= 0) out.probs[sq] = static_cast<float>(std::exp(double(logits_row[t]) - mx) / sum);
  }
}

}  // namespace

std::vector<Prediction> run_model(model::GPT& gpt, const std::vector<std::vector<int>>& prefixes,
                                  const ProbeSet& probes, const std::vector<BoardEdit>& edits,
                                  const std::vector<othello::Color>& to_move, const InterventionOptions& opt) {
  const auto& cfg = gpt.cfg();
  const int T = cfg.n_ctx, V = cfg.d_vocab, d = cfg.d_model;
  const bool editing = !edits.empty();
  if (editing && (edits.size() != prefixes.size() || to_move.size() != prefixes.size()))
    throw std::logic_error("run_model: edits and to_move must match the prefixes");
  const std::vector<EditLayer> layers = editing ? plan_layers(gpt, probes, opt) : std::vector<EditLayer>{};
  const bool in_place = opt.hook_suffix.empty();
  if (editing && !in_place && opt.positions != Positions::last)
    throw UserError("editing at another hook (--hook) works at the last position only (not --positions since)", kUsage);
  std::vector<Prediction> out(prefixes.size());
  const int max_b = gpt.max_batch();
  std::vector<uint8_t> tokens;
  for (size_t first = 0; first < prefixes.size(); first += max_b) {
    const int B = static_cast<int>(std::min<size_t>(max_b, prefixes.size() - first));
    tokens.assign(static_cast<size_t>(B) * T, 0);
    std::vector<int> last(B);
    for (int r = 0; r < B; ++r) {
      const auto& pre = prefixes[first + r];
      if (pre.empty() || (int)pre.size() > T)
        throw UserError("a prefix must have 1.." + std::to_string(T) + " moves (got " + std::to_string(pre.size()) + ")");
      for (size_t t = 0; t < pre.size(); ++t) tokens[r * T + t] = static_cast<uint8_t>(othello::square_to_token(pre[t]));
      last[r] = static_cast<int>(pre.size()) - 1;
    }
    model::Hooks hooks;
    if (editing && !in_place) {
      // Clean pass: the change each layer's edit would make, computed on unedited activations.
      model::Hooks clean;
      for (auto& L : layers) clean.cache_names.insert(L.probe->hook);
      gpt.forward(tokens.data(), nullptr, B, &clean);
      auto deltas = std::make_shared<std::vector<std::vector<float>>>(layers.size());
      for (size_t li = 0; li < layers.size(); ++li) {
        const auto& act = clean.cache.at(layers[li].probe->hook);
        auto& dl = (*deltas)[li];
        dl.assign(static_cast<size_t>(B) * d, 0.0f);
        for_each_row(B, [&](int r) {
          const auto& e = edits[first + r];
          if (e.cells.empty()) return;
          const float* x0 = act.data.data() + (static_cast<size_t>(r) * T + last[r]) * d;
          std::vector<float> x1(x0, x0 + d);
          apply_edit(x1.data(), *layers[li].probe, e, to_move[first + r], opt);
          for (int i = 0; i < d; ++i) dl[static_cast<size_t>(r) * d + i] = x1[i] - x0[i];
        });
        hooks.edits[layers[li].hook] = [deltas, li, last, d, T, B](model::TensorView v) {
          for (int r = 0; r < B; ++r) {
            float* x = v.data + (static_cast<size_t>(r) * T + last[r]) * d;
            const float* dl = (*deltas)[li].data() + static_cast<size_t>(r) * d;
            for (int i = 0; i < d; ++i) x[i] += dl[i];
          }
        };
      }
    } else if (editing) {
      auto plans = std::make_shared<std::vector<std::vector<EditAt>>>(B);
      for (int r = 0; r < B; ++r)
        if (!edits[first + r].cells.empty())
          (*plans)[r] = plan_positions(prefixes[first + r], edits[first + r], to_move[first + r], opt.positions);
      for (auto& L : layers) {
        const probes::Probe* p = L.probe;
        hooks.edits[L.hook] = [p, plans, &opt, d, T, B](model::TensorView v) {
          for_each_row(B, [&](int r) {
            for (const EditAt& a : (*plans)[r])
              apply_one(v.data + (static_cast<size_t>(r) * T + a.t) * d, *p, a.cell, a.state, a.to_move, opt);
          });
        };
      }
    }
    gpt.forward(tokens.data(), nullptr, B, editing ? &hooks : nullptr);
    const float* logits = gpt.logits();
    for (int r = 0; r < B; ++r)
      read_probs(out[first + r], logits + (static_cast<size_t>(r) * T + last[r]) * V, V);
  }
  return out;
}

std::vector<CaseResult> run_cases(model::GPT& gpt, const ProbeSet& probes, const std::vector<EditCase>& cases,
                                  const InterventionOptions& opt, const std::function<void(size_t)>& progress,
                                  const std::vector<Prediction>* before_all) {
  if (before_all && before_all->size() != cases.size())
    throw std::logic_error("run_cases: the earlier predictions must match the cases");
  std::vector<CaseResult> res(cases.size());
  const size_t chunk = static_cast<size_t>(std::max(1, gpt.max_batch()));
  for (size_t first = 0; first < cases.size(); first += chunk) {
    const size_t n = std::min(chunk, cases.size() - first);
    std::vector<std::vector<int>> prefixes(n);
    std::vector<BoardEdit> edits(n);
    std::vector<othello::Color> to_move(n);
    for (size_t i = 0; i < n; ++i) {
      const EditCase& c = cases[first + i];
      CaseResult& r = res[first + i];
      r.truth = get_ground_truth(c.moves, c.cell, c.target);
      if (!r.truth.usable)
        throw UserError("case " + std::to_string(first + i) + " (" + othello::square_name(c.cell) + "): " + r.truth.why_not);
      prefixes[i] = c.moves;
      edits[i] = BoardEdit{{c.cell}, {c.target}};
      to_move[i] = r.truth.before.to_move;
    }
    const auto before = before_all ? std::vector<Prediction>(before_all->begin() + first, before_all->begin() + first + n)
                                   : run_model(gpt, prefixes, probes, {}, {}, opt);
    const auto after = run_model(gpt, prefixes, probes, edits, to_move, opt);
    for (size_t i = 0; i < n; ++i) {
      CaseResult& r = res[first + i];
      r.before = before[i];
      r.after = after[i];
      const int n_before = std::popcount(r.truth.legal_before), n_after = std::popcount(r.truth.legal_after);
      r.predicted_before = top_n_squares(r.before.probs, n_before);
      r.predicted_after = top_n_squares(r.after.probs, n_after);
      r.null_predicted = top_n_squares(r.before.probs, n_after);
      r.errors = count_errors(r.predicted_after, r.truth.legal_after);
      r.null_errors = count_errors(r.null_predicted, r.truth.legal_after);
      r.unedited_errors = count_errors(r.predicted_before, r.truth.legal_before);
    }
    if (progress) progress(first + n);
  }
  return res;
}

}  // namespace ogpt::interventions
