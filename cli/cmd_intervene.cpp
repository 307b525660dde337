// othello-gpt intervene: edit one cell of the board inside the model and check that the predicted
// legal moves become those of the edited board (a test report: PASS when the top-N after the
// edit is exactly the edited board's legal set).
//   othello-gpt intervene --moves "f5 d6 c3 d3" --cell e4 --to mine [--method linear|gradient]
//   othello-gpt intervene bench --cases 1000 --seed 1 [--json] [--svg FILE]
#include <algorithm>
#include <bit>
#include <cstdio>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "interventions/case_file.hpp"
#include "interventions/load.hpp"
#include "interventions/report.hpp"
#include "othello/game_record.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/json_text.hpp"

namespace {

using namespace ogpt;
using namespace ogpt::interventions;
using othello::Bitboard;

struct Common {
  std::string model, probe, method = "linear", hook, positions = "last";
  int layer = -1;
  bool single_layer = false;
  // Gradient-edit defaults are GradientEditOptions' own (one place to change them).
  float scale = 0, lr = GradientEditOptions{}.lr, reg = GradientEditOptions{}.reg;
  CLI::Option* scale_given = nullptr;  // unset: default_scale(positions, hook given)
  int steps = GradientEditOptions{}.max_steps;
  bool json = false;
};

void add_common(CLI::App& app, Common& c) {
  app.add_option("--model", c.model, "Checkpoint file or training directory (default: the shipped model)");
  app.add_option("--probe", c.probe, "Probe file or directory of probes, one per layer (default: the shipped probes)");
  app.add_option("--method", c.method, "linear (Nanda et al.: move along the probe's direction) or gradient "
                                      "(Li et al.: optimise against the MLP probe)");
  app.add_option("--layer", c.layer, "Start layer (residual stream after this many blocks); default 5/8 of n_layers for linear (5 of 8), n_layers/2 for gradient")
      ->check(ogpt::cli::nonnegative());
  app.add_flag("--single-layer", c.single_layer, "Edit only the start layer (default: it and every later layer)");
  app.add_option("--hook", c.hook, "Edit blocks.{L-1}.<HOOK> (e.g. hook_attn_out) by the change computed at the probe's "
                                  "hook, instead of editing the probe's hook itself");
  app.add_option("--positions", c.positions, "last (edit the last position, as Li et al. and Nanda et al.) or since "
                                            "(every position since the cell last changed, each in its own terms)");
  c.scale_given = app.add_option("--scale", c.scale, "Linear edit: new gap = scale x old gap, moved to the target side "
                                                     "(1 = reflection; default 4 with --positions last, 2 with since, 1 with --hook, "
                                                     "whose changes add up over the layers)");
  app.add_option("--steps", c.steps, "Gradient edit: most Adam steps per layer")->capture_default_str();
  app.add_option("--lr", c.lr, "Gradient edit: Adam learning rate, times the RMS of the activation")->capture_default_str();
  app.add_option("--reg", c.reg, "Gradient edit: weight of the other 63 cells (reg_strg)")->capture_default_str();
  app.add_flag("--json", c.json, "Print JSON");
}

InterventionOptions to_options(const Common& c) {
  InterventionOptions o;
  o.method = parse_method(c.method);
  o.layer = c.layer;
  o.all_later = !c.single_layer;
  o.hook_suffix = c.hook;
  o.positions = parse_positions(c.positions);
  const bool scale_given = c.scale_given && c.scale_given->count() > 0;
  if (scale_given) cli::require_positive(c.scale, "--scale");
  cli::require_positive(c.lr, "--lr");
  cli::require_nonnegative(c.reg, "--reg");
  if (c.steps < 1) throw UserError("--steps must be at least 1", kUsage);
  if (c.layer < -1) throw UserError("--layer must be >= 0 (the residual stream after that many blocks)", kUsage);
  o.linear.scale = scale_given ? c.scale : default_scale(o.positions, !o.hook_suffix.empty());
  o.gradient.lr = c.lr;
  o.gradient.max_steps = c.steps;
  o.gradient.reg = c.reg;
  return o;
}

std::string layers_text(const ProbeSet& probes, const InterventionOptions& o, int n_layers) {
  const auto& ps = probes_for(probes, o.method);
  const int start = o.layer >= 0 ? o.layer : default_layer(o.method, probes, n_layers);
  std::string s;
  for (auto& [l, p] : ps)
    if (l == start || (l > start && o.all_later)) s += (s.empty() ? "" : ",") + std::to_string(l);
  return s;
}

std::vector<std::string> names(Bitboard b) {
  std::vector<std::string> v;
  for (int sq : othello::squares_of(b)) v.push_back(othello::square_name(sq));
  return v;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s.empty() ? "(none)" : s;
}

// Top-n squares by probability, best first, with '!' after a square that is not legal.
std::string ranked(const Prediction& p, int n, Bitboard legal) {
  std::vector<int> sq;
  for (int s : othello::squares_of(top_n_squares(p.probs, n))) sq.push_back(s);
  std::sort(sq.begin(), sq.end(), [&](int a, int b) { return p.probs[a] > p.probs[b]; });
  std::string out;
  char buf[48];
  for (int s : sq) {
    std::snprintf(buf, sizeof buf, "%s%s %.1f%%%s", out.empty() ? "" : ", ", othello::square_name(s).c_str(),
                  100.0 * p.probs[s], (legal >> s & 1) ? "" : " (!)");
    out += buf;
  }
  return out;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

int run_one(const Common& c, const std::string& moves_text, const std::string& cell_text, const std::string& to_text) {
  if (moves_text.empty() || cell_text.empty() || to_text.empty())
    throw UserError("intervene needs --moves, --cell and --to (or the 'bench' subcommand)", kUsage);
  const InterventionOptions opt = to_options(c);
  const std::vector<int> moves = othello::parse_game(moves_text);
  if (moves.empty()) throw UserError("--moves: give at least one move", kUsage);
  const int cell = othello::parse_square(cell_text);
  if (cell < 0) throw UserError("--cell: '" + cell_text + "' is not a square (a1..h8)", kUsage);
  const CellState target = parse_cell_state(to_text);
  EditCase ec{moves, cell, target};
  const GroundTruth truth = get_ground_truth(moves, cell, target);
  if (!truth.usable) throw UserError("cannot test this edit: " + truth.why_not);
  const ProbeSet probes = load_probes_arg(c.probe, cli::default_model_path());
  std::string model_path;
  auto gpt = load_gpt(c.model, cli::default_model_path(), 1, &model_path);
  if ((int)moves.size() > gpt->cfg().n_ctx)
    throw UserError("--moves: the model reads at most " + std::to_string(gpt->cfg().n_ctx) + " moves", kUsage);
  const CaseResult r = run_cases(*gpt, probes, {ec}, opt)[0];
  const int n_before = std::popcount(truth.legal_before), n_after = std::popcount(truth.legal_after);
  const std::string layers = layers_text(probes, opt, gpt->cfg().n_layers);
  if (c.json) {
    auto side = [](const Bitboard legal, const Prediction& p, Bitboard predicted) {
      nlohmann::json j;
      j["legal"] = names(legal);
      std::vector<int> sq;
      for (int s : othello::squares_of(predicted)) sq.push_back(s);
      std::sort(sq.begin(), sq.end(), [&](int a, int b) { return p.probs[a] > p.probs[b]; });
      j["predicted"] = nlohmann::json::array();
      j["probabilities"] = nlohmann::json::object();
      for (int s : sq) {
        j["predicted"].push_back(othello::square_name(s));
        j["probabilities"][othello::square_name(s)] = p.probs[s];
      }
      return j;
    };
    nlohmann::json j;
    j["moves"] = nlohmann::json::array();
    for (int m : moves) j["moves"].push_back(othello::square_name(m));
    j["cell"] = othello::square_name(cell);
    j["to"] = cell_state_name(target);
    j["to_move"] = othello::color_name(truth.before.to_move);
    j["method"] = method_name(opt.method);
    j["layers"] = layers;
    j["positions"] = positions_name(opt.positions);
    j["before"] = side(truth.legal_before, r.before, r.predicted_before);
    j["after"] = side(truth.legal_after, r.after, r.predicted_after);
    j["errors"] = r.errors;
    j["null_errors"] = r.null_errors;
    j["pass"] = r.errors == 0;
    std::printf("%s\n", util::json_text(j).c_str());
    return 0;
  }
  const CellState was = get_cell_state(truth.before, cell);
  std::printf("intervention: %s %s -> %s for %s (to move) after %zu move%s\n", othello::square_name(cell).c_str(),
              cell_state_name(was), cell_state_name(target), othello::color_name(truth.before.to_move), moves.size(),
              moves.size() == 1 ? "" : "s");
  std::printf("model %s; %s edit at layers %s", model_path.c_str(), method_name(opt.method), layers.c_str());
  if (opt.method == Method::linear) std::printf(", scale %g", opt.linear.scale);
  if (!opt.hook_suffix.empty()) std::printf(", written at %s", opt.hook_suffix.c_str());
  if (opt.positions == Positions::since) std::printf(", at every position since %s last changed", othello::square_name(cell).c_str());
  std::printf("\n\n");
  const auto lb = lines(othello::board_to_string(truth.before, truth.legal_before));
  const auto la = lines(othello::board_to_string(truth.after, truth.legal_after));
  std::printf("  %-24s  %s\n", "before (X black, O white)", ("after (" + othello::square_name(cell) + " edited)").c_str());
  for (size_t i = 0; i < lb.size() && i < la.size(); ++i) std::printf("  %-24s  %s\n", lb[i].c_str(), la[i].c_str());
  std::printf("\nlegal before (%d): %s\n", n_before, join(names(truth.legal_before)).c_str());
  std::printf("legal after  (%d): %s\n", n_after, join(names(truth.legal_after)).c_str());
  std::printf("model before, top-%d: %s\n", n_before, ranked(r.before, n_before, truth.legal_before).c_str());
  std::printf("model after,  top-%d: %s\n", n_after, ranked(r.after, n_after, truth.legal_after).c_str());
  std::printf("  ((!) = not a legal move of that board)\n");
  const int fp = std::popcount(r.predicted_after & ~truth.legal_after);
  const int fn = std::popcount(truth.legal_after & ~r.predicted_after);
  std::printf("errors: %d (%d false positive%s, %d false negative%s); null errors: %d (unedited model's top-%d vs the "
              "edited board)\n",
              r.errors, fp, fp == 1 ? "" : "s", fn, fn == 1 ? "" : "s", r.null_errors, n_after);
  if (r.errors == 0)
    std::printf("PASS: the edited model's top-%d moves are exactly the edited board's legal moves\n", n_after);
  else
    std::printf("FAIL: the edited model's top-%d moves differ from the edited board's legal moves in %d square%s\n",
                n_after, r.errors, r.errors == 1 ? "" : "s");
  return 0;
}

struct BenchArgs {
  int cases = 1000;
  uint64_t seed = 1;
  std::string methods = "linear,gradient", kinds = "flip,erase", svg, save_cases, cases_file;
  uint64_t max_nodes = 5000;
  int batch = 64;
  bool any_change = false;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::string cur;
  for (char ch : s + ",") {
    if (ch == ',' || ch == ' ') {
      if (!cur.empty()) v.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  return v;
}

int run_bench(const Common& c, const BenchArgs& b) {
  if (b.cases < 1) throw UserError("--cases must be at least 1", kUsage);
  if (b.batch < 1) throw UserError("--batch must be at least 1", kUsage);
  std::vector<cli::NamedPath> inputs = {cli::model_input(c.model), {"--cases-file", b.cases_file}};
  cli::add_probe_inputs(&inputs, c.probe);
  cli::require_outputs_apart({{"--svg", b.svg}, {"--save-cases", b.save_cases}}, inputs);
  if (!b.svg.empty()) util::check_writable(b.svg);  // before minutes of edits, not after
  if (!b.save_cases.empty()) util::check_writable(b.save_cases);
  std::vector<Method> methods;
  for (auto& m : split(b.methods)) methods.push_back(parse_method(m));
  std::vector<CaseKind> kinds;
  for (auto& k : split(b.kinds)) {
    if (k == "flip") kinds.push_back(CaseKind::flip);
    else if (k == "erase") kinds.push_back(CaseKind::erase);
    else throw UserError("unknown case kind '" + k + "' (choose flip, erase)", kUsage);
  }
  if (methods.empty() || kinds.empty()) throw UserError("--methods and --kinds must name at least one each", kUsage);
  const ProbeSet probes = load_probes_arg(c.probe, cli::default_model_path());
  std::string model_path;
  auto gpt = load_gpt(c.model, cli::default_model_path(), b.batch, &model_path);
  std::vector<BenchRow> rows;
  const std::vector<EditCase> from_file = b.cases_file.empty() ? std::vector<EditCase>{} : load_cases(b.cases_file);
  uint64_t total = 0;
  if (!b.cases_file.empty()) {
    for (auto& c : from_file)
      if (std::find(kinds.begin(), kinds.end(), c.kind) != kinds.end()) total += methods.size();
  } else {
    total = uint64_t(b.cases) * 2 * kinds.size() * methods.size();
  }
  util::Progress bar("intervene bench", total, "cases", true);
  uint64_t done = 0;
  std::vector<EditCase> all;
  for (CaseKind kind : kinds) {
    std::vector<EditCase> cases;
    if (!b.cases_file.empty()) {
      for (auto& c : from_file)
        if (c.kind == kind && (int)c.moves.size() <= gpt->cfg().n_ctx) cases.push_back(c);
      if (cases.empty()) continue;
    } else {
      CaseOptions co;
      co.seed = b.seed;
      co.per_set = b.cases;
      co.max_nodes = b.max_nodes;
      co.require_change = !b.any_change;
      co.max_moves = std::min(co.max_moves, gpt->cfg().n_ctx);
      bar.update(done, std::string("sampling ") + case_kind_name(kind) + " cases");
      cases = make_cases(kind, co);
    }
    all.insert(all.end(), cases.begin(), cases.end());
    std::vector<Prediction> before;  // the unedited model's predictions, shared by the methods
    for (Method m : methods) {
      Common cm = c;
      cm.method = method_name(m);
      const InterventionOptions opt = to_options(cm);
      const auto res = run_cases(
          *gpt, probes, cases, opt,
          [&](size_t n) { bar.update(done + n, std::string(method_name(m)) + " " + case_kind_name(kind)); },
          before.empty() ? nullptr : &before);
      if (before.empty())
        for (auto& r : res) before.push_back(r.before);
      done += cases.size();
      for (BenchRow& row : summarise_by_set(method_name(m), case_kind_name(kind), cases, res)) rows.push_back(row);
    }
  }
  bar.finish();
  if (all.empty())  // only a case file can hold none (of the kinds asked, or that fit the model)
    throw UserError(b.cases_file + ": no cases to run (of the kinds " + b.kinds + ", with at most " +
                        std::to_string(gpt->cfg().n_ctx) + " moves)",
                    kUsage);
  if (!b.save_cases.empty()) save_cases(b.save_cases, all);
  if (!b.svg.empty())
    util::write_file_atomic(
        b.svg, bench_svg(rows, "Intervention errors (top-N), " +
                                   (b.cases_file.empty() ? std::to_string(b.cases) + " cases per set, seed " +
                                                               std::to_string(b.seed)
                                                         : "cases from " + b.cases_file)));
  if (c.json) {
    nlohmann::json j = nlohmann::json::array();
    for (auto& r : rows)
      j.push_back({{"method", r.method}, {"kind", r.kind}, {"set", r.set}, {"cases", r.cases},
                   {"errors_mean", r.errors_mean}, {"errors_ci95", r.errors_ci95}, {"null_mean", r.null_mean},
                   {"null_ci95", r.null_ci95}, {"unedited_mean", r.unedited_mean},
                   {"legal_changed_mean", r.changed_mean}, {"exact", r.reached},
                   {"prefix_mean", r.prefix_mean}, {"proven", r.proven}});
    std::printf("%s\n", util::json_text(j).c_str());
    return 0;
  }
  if (b.cases_file.empty())
    std::printf("model %s, %d cases per set, seed %llu", model_path.c_str(), b.cases, (unsigned long long)b.seed);
  else
    std::printf("model %s, cases from %s", model_path.c_str(), b.cases_file.c_str());
  const InterventionOptions shown = to_options(c);
  std::printf("; edits at %s, linear scale %g\n",
              shown.positions == Positions::last ? "the last position" : "every position since the cell last changed",
              shown.linear.scale);
  std::printf("%-9s %-6s %-12s %6s  %-17s %-13s %8s %8s %7s %7s %7s\n", "method", "kind", "set", "cases",
              "errors (95% CI)", "null (95% CI)", "unedited", "changed", "exact", "prefix", "proven");
  for (auto& r : rows)
    std::printf("%-9s %-6s %-12s %6d  %6.3f +- %-6.3f  %5.2f +- %-4.2f %8.2f %8.2f %6.1f%% %7.1f %6.1f%%\n",
                r.method.c_str(), r.kind.c_str(), r.set.c_str(), r.cases, r.errors_mean, r.errors_ci95, r.null_mean,
                r.null_ci95, r.unedited_mean, r.changed_mean, 100.0 * r.reached, r.prefix_mean, 100.0 * r.proven);
  std::printf("errors = false positives + false negatives of the top-N (N = legal moves after the edit); null = the "
              "unedited model against the edited board; unedited = the unedited model against the unedited board "
              "(the model's own error: the floor an edit can reach); changed = squares whose legality the edit changes; exact = cases "
              "with 0 errors; prefix = mean moves played; proven = set membership proven (witness game found, or "
              "search exhausted; otherwise no witness within --max-nodes)\n"
              "cases: a random game, a prefix length uniform in 1..59, a cell uniform among the occupied ones (never "
              "erasing a centre square, which no game empties); only edits that leave a legal move and change the "
              "legal set (unless --any-change)\n");
  if (!b.svg.empty()) std::printf("wrote %s\n", b.svg.c_str());
  return 0;
}

cli::Command reg("intervene", "Edit a board cell inside the model and test the predicted legal moves",
                 [](CLI::App& sub) {
  auto c = std::make_shared<Common>();
  auto moves = std::make_shared<std::string>();
  auto cell = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  add_common(sub, *c);
  sub.add_option("--moves", *moves, "Game prefix in standard notation, e.g. \"f5 d6 c3 d3\"");
  sub.add_option("--cell", *cell, "The square to edit, e.g. e4");
  sub.add_option("--to", *to, "Its new state for the player to move: mine, theirs or empty");
  auto bench = sub.add_subcommand("bench", "Average errors over benchmark case sets, against the null baseline");
  auto bc = std::make_shared<Common>();
  auto ba = std::make_shared<BenchArgs>();
  add_common(*bench, *bc);
  bench->add_option("--cases", ba->cases, "Cases per (kind, set)");
  bench->add_option("--seed", ba->seed, "Case-set seed (the same seed and --max-nodes give the same cases: the budget decides which set a case falls in)");
  bench->add_option("--methods", ba->methods, "Comma-separated: linear,gradient");
  bench->add_option("--kinds", ba->kinds, "Comma-separated: flip,erase");
  bench->add_option("--svg", ba->svg, "Write a bar chart (SVG) here");
  bench->add_option("--max-nodes", ba->max_nodes, "Reachability search budget per case (positions)");
  bench->add_option("--batch", ba->batch, "Cases per model forward pass");
  bench->add_flag("--any-change", ba->any_change, "Keep edits that leave the legal set unchanged too");
  bench->add_option("--save-cases", ba->save_cases, "Also write the case set used to this file");
  bench->add_option("--cases-file", ba->cases_file, "Run the cases of this file (from --save-cases) instead of sampling");
  return [c, moves, cell, to, bench, bc, ba]() -> int {
    if (bench->parsed()) return run_bench(*bc, *ba);
    return run_one(*c, *moves, *cell, *to);
  };
});

}  // namespace
