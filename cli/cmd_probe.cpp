// othello-gpt probe train|eval|sweep|show|export: probes of the residual stream.
//   probe train --model M (--games FILE | --random N) --hook resid_post --layer L
//               --basis mine-theirs|black-white|empty|flipped|legal --kind linear|mlp --out P
//   probe eval  --probe P --model M (--games FILE | --random N) [--svg FILE]
//   probe sweep --model M (--games FILE | --random N) --out DIR
//   probe show  --probe P --model M --moves "f5 d6 c3"
//   probe export --probe P --out DIR        (.npy for NumPy / TransformerLens)
// Thin: parses options, calls probes/, prints tables / JSON / SVG.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "data/game_file.hpp"
#include "data/labels.hpp"
#include "data/text_games.hpp"
#include "model/model_path.hpp"
#include "othello/game_record.hpp"
#include "probes/board_svg.hpp"
#include "probes/experiment.hpp"
#include "probes/probe_file.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/svg_plot.hpp"
#include "util/json_text.hpp"

namespace {
using namespace ogpt;
using nlohmann::json;

// Options shared by the subcommands that run a model over games.
struct Common {
  std::string model, games_file, precision = "bf16";
  std::string positions = "all";
  bool positions_given = false;  // else: all, or for eval the positions the probe file records
  uint64_t random = 0, seed = 20231, max_games = 3000;
  int batch = 64;
  bool json = false, quiet = false;
};

void add_model_games(CLI::App* s, Common& c) {
  s->add_option("--model,-m", c.model, "Model: checkpoint file or run directory (default: the shipped model)");
  auto* g = s->add_option("--games,-g", c.games_file, "Game file (.games, or .txt one game per line)");
  auto* r = s->add_option("--random", c.random, "Use N fresh random games instead of a file")->check(ogpt::cli::positive());
  g->excludes(r);
  s->add_option("--seed", c.seed, "Stream seed of --random games (use one the model was not trained on)")
      ->capture_default_str();
  s->add_option("--max-games", c.max_games, "Read at most this many games of --games")->capture_default_str();
  s->add_option("--precision", c.precision, "Model forward: bf16 or f32")->capture_default_str();
  s->add_option("--batch", c.batch, "Games per forward pass")->capture_default_str()->check(ogpt::cli::positive());
  s->add_flag("--json", c.json, "Print the result as JSON");
  s->add_flag("--quiet,-q", c.quiet, "No progress bar");
}

// --positions for the commands that fit or score probes over many games (not show).
void add_positions(CLI::App* s, Common& c, bool eval = false) {
  s->add_option("--positions", c.positions,
                "Token positions to fit and score on, a slice A:B (0-based, B excluded, a negative bound counts "
                "from the end; position t = the board after move t+1), e.g. 5:54 (= 5:-5), Nanda et al.'s "
                "window, which leaves out the first and last five; or a list such as 5,10,20; or all (the default" +
                    std::string(eval ? ", unless the probe file records the positions it was fitted on: those" : "") +
                    ")")
      ->each([&c](const std::string&) { c.positions_given = true; });
}

// The token positions to use: --positions if given, else `recorded` (the positions a probe file
// says it was fitted on; empty: not recorded), else all.
std::vector<int> resolve_positions(const Common& c, int n_ctx, const std::string& recorded = "",
                                   const std::string& probe_path = "") {
  if (c.positions_given || recorded.empty()) return probes::parse_positions(c.positions, n_ctx);
  try {
    return probes::parse_positions(recorded, n_ctx, (probe_path + ": the recorded token positions").c_str());
  } catch (const UserError& e) {
    throw UserError(std::string(e.what()) + "; pass --positions to score this model on other positions", kBadInput);
  }
}

std::vector<data::Game> load_games(const Common& c) {
  if (c.random > 0) {
    cli::require_count(c.random, 100000000, "--random");
    std::vector<data::Game> g(c.random);
    data::generate_games(c.seed, 0, g.size(), g.data());
    return g;
  }
  if (c.games_file.empty()) throw UserError("give --games FILE or --random N", kUsage);
  if (c.max_games < 1) throw UserError("--max-games must be at least 1", kUsage);
  std::vector<data::Game> games;
  if (c.games_file.size() > 4 && c.games_file.substr(c.games_file.size() - 4) == ".txt") {
    games = data::read_text_games(c.games_file).games;
    if (games.size() > c.max_games) games.resize(c.max_games);
  } else {
    data::GameReader reader(c.games_file);
    std::vector<data::Game> batch;
    while (games.size() < c.max_games && reader.next_batch(batch, c.max_games - games.size()))
      games.insert(games.end(), batch.begin(), batch.end());
  }
  if (games.empty()) throw UserError(c.games_file + ": no games", kUsage);
  return games;
}

model::Precision parse_precision(const std::string& s) {
  if (s == "bf16") return model::Precision::bf16;
  if (s == "f32") return model::Precision::f32;
  throw UserError("unknown --precision '" + s + "' (bf16 or f32)", kUsage);
}

model::LoadedCheckpoint load_model(const Common& c, std::string* resolved) {
  return model::load_model(c.model, cli::default_model_path(), resolved);
}

// The hooks to extract over the positions `window` (empty: all).
probes::ExtractOptions extract_options(const Common& c, std::vector<std::string> hooks, std::vector<int> window = {}) {
  probes::ExtractOptions ex;
  ex.hooks = std::move(hooks);
  ex.batch = c.batch;
  ex.precision = parse_precision(c.precision);
  ex.progress = !c.quiet && !c.json;
  ex.moves = std::move(window);
  return ex;
}

json num(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

// 8x8 table of per-cell values (percent), a1 top-left.
void print_board_values(const std::array<double, 64>& v) {
  std::printf("       a     b     c     d     e     f     g     h\n");
  for (int r = 0; r < 8; ++r) {
    std::printf("  %d", r + 1);
    for (int c = 0; c < 8; ++c) std::printf(" %5.1f", 100 * v[r * 8 + c]);
    std::printf("\n");
  }
}

void print_metrics(const probes::Metrics& m, probes::Target t, double baseline) {
  const auto names = probes::class_names(t);
  std::printf("  accuracy          %.2f%%  (%llu positions x 64 cells)\n", 100 * m.accuracy,
              (unsigned long long)m.positions);
  std::printf("  majority baseline %.2f%%  (per-cell most frequent class)\n", 100 * baseline);
  for (int k = 0; k < m.C; ++k)
    std::printf("  class %-8s    %.2f%%  (%llu cells)\n", names[k].c_str(), 100 * m.class_accuracy[k],
                (unsigned long long)m.class_count[k]);
  if (m.C == 2) std::printf("  F1 %.4f  precision %.4f  recall %.4f\n", m.f1, m.precision, m.recall);
  std::printf("  by token position t (the board after move t+1):\n   ");
  for (int t = 0; t < 60; t += 6) {
    double ok = 0, n = 0;
    for (int u = t; u < t + 6; ++u)
      if (m.move_count[u]) {
        ok += m.move_accuracy[u] * m.move_count[u];
        n += m.move_count[u];
      }
    std::printf(" %2d-%2d %5.1f", t, t + 5, n ? 100 * ok / n : NAN);
  }
  std::printf("\n  per cell:\n");
  print_board_values(m.cell_accuracy);
}

json metrics_json(const probes::Metrics& m, double baseline) {
  json j = probes::metrics_to_json(m);
  j["majority_baseline"] = num(baseline);
  return j;
}

json probe_json(const probes::Probe& p) {
  return {{"hook", p.hook},       {"layer", p.layer},        {"basis", probes::target_name(p.target)},
          {"kind", probes::kind_name(p.kind)}, {"d", p.d}, {"H", p.H},
          {"trained_on", {{"model", p.info.model}, {"games_train", p.info.games_train},
                          {"games_val", p.info.games_val}, {"games_test", p.info.games_test},
                          {"positions_train", p.info.positions_train}, {"steps", p.info.steps},
                          {"epochs", p.info.epochs}, {"val_accuracy", p.info.val_accuracy},
                          {"test_accuracy", p.info.test_accuracy},
                          {"positions", p.info.positions.empty() ? json(nullptr) : json(p.info.positions)}}}};
}

// ---- train -----------------------------------------------------------------------------------------

struct TrainArgs {
  Common c;
  std::string hook = "resid_post", basis = "mine-theirs", kind = "linear", out, npy;
  int layer = -1, hidden = 128, probe_batch = 0;
  double epochs = 0, lr = 0, wd = -1;
  uint64_t probe_seed = 1;
  bool control = false;
};

int run_train(const TrainArgs& a) {
  cli::require_outputs_apart({{"--out", a.out}}, {cli::model_input(a.c.model), {"--games", a.c.games_file}});
  if (!a.out.empty()) util::check_writable(a.out);  // before the fit, not after
  if (!a.npy.empty()) util::ensure_directory(a.npy);
  std::string resolved;
  const model::LoadedCheckpoint ck = load_model(a.c, &resolved);
  const model::Config& cfg = ck.params.cfg;
  const std::vector<int> positions = resolve_positions(a.c, cfg.n_ctx);  // before the games
  const std::string window = probes::positions_label(positions);
  const int layer = a.layer >= 0 ? a.layer : (3 * cfg.n_layers + 3) / 4;
  const std::string hook = probes::hook_name(a.hook, layer, cfg);
  const probes::Target target = probes::parse_target(a.basis);
  const probes::Kind kind = probes::parse_kind(a.kind);
  probes::TrainOptions to = probes::default_train_options(kind);
  if (a.epochs > 0) to.max_epochs = a.epochs;
  if (a.lr > 0) to.lr = float(a.lr);
  if (a.wd >= 0) to.weight_decay = float(a.wd);
  if (a.probe_batch > 0) to.batch = a.probe_batch;
  to.seed = a.probe_seed;
  to.progress = !a.c.quiet && !a.c.json;
  to.label = "probe";

  const std::vector<data::Game> games = load_games(a.c);
  const probes::Activations act = probes::extract_activations(ck.params, games, extract_options(a.c, {hook}, positions));
  const std::vector<uint8_t> y = probes::make_targets(act, target);
  const probes::Split split = probes::split_by_game(act.game_offset);
  util::Progress clock("", 0, "", false);
  probes::FitResult f = probes::fit_probe(act, hook, y, target, kind, a.hidden, to, split);
  const double train_s = clock.elapsed_s();
  f.probe.info.model = resolved + " (" + cfg.describe() + ")";
  if (!a.out.empty()) probes::save_probe(a.out, f.probe);
  std::vector<std::string> npy;
  if (!a.npy.empty()) npy = probes::export_probe_npy(f.probe, a.npy);

  // The control: the same probe on a randomly initialised model of the same shape.
  double control = NAN;
  if (a.control) {
    model::ParamBlock rnd(cfg);
    model::init_params(rnd, 12345);
    const probes::Activations ra = probes::extract_activations(rnd, games, extract_options(a.c, {hook}, positions));
    probes::TrainOptions ro = to;
    ro.label = "control";
    control = probes::fit_probe(ra, hook, y, target, kind, a.hidden, ro, split).test.accuracy;
  }

  if (a.c.json) {
    json j = probe_json(f.probe);
    j["window"] = window;
    j["test"] = metrics_json(f.test, f.baseline);
    j["random_model_accuracy"] = num(control);
    j["train_seconds"] = train_s;
    j["out"] = a.out;
    j["npy"] = npy;
    std::printf("%s\n", util::json_text(j, 2).c_str());
    return 0;
  }
  std::printf("%s probe, %s basis, %s  (model %s)\n", probes::kind_name(kind), probes::target_name(target),
              hook.c_str(), f.probe.info.model.c_str());
  std::printf("  games %llu train / %llu validation / %llu test (split by game); %llu training positions\n",
              (unsigned long long)split.train_games, (unsigned long long)split.val_games,
              (unsigned long long)split.test_games, (unsigned long long)(split.train_end - split.train_begin));
  if (window != "all") std::printf("  token positions %s only (fitted and scored)\n", window.c_str());
  std::printf("  trained %llu steps (%.2f epochs) in %.1f s%s; validation accuracy %.2f%%\n",
              (unsigned long long)f.train.steps, f.train.epochs, train_s, f.train.stopped_early ? ", stopped early" : "",
              100 * f.val_accuracy);
  std::printf("test games:\n");
  print_metrics(f.test, target, f.baseline);
  if (a.control) std::printf("  random-init model, same probe: %.2f%%\n", 100 * control);
  if (!a.out.empty()) std::printf("wrote %s\n", a.out.c_str());
  for (const auto& p : npy) std::printf("wrote %s\n", p.c_str());
  return 0;
}

// ---- eval ------------------------------------------------------------------------------------------

struct EvalArgs {
  Common c;
  std::string probe, svg;
};

// The probe reads a hook the model has, with the model's width (else extraction would fail later
// with an internal error, or read the wrong features).
void check_probe_fits(const probes::Probe& p, const std::string& probe_path, const model::Config& cfg,
                      const std::string& model_path) {
  probes::hook_name(p.hook, 0, cfg);  // throws UserError unless the model has the hook
  if (probes::hook_width(p.hook, cfg) != p.d)
    throw UserError(probe_path + ": probe reads " + std::to_string(p.d) + " features at " + p.hook + ", model " +
                    model_path + " has " + std::to_string(probes::hook_width(p.hook, cfg)));
}

int run_eval(const EvalArgs& a) {
  cli::require_outputs_apart({{"--svg", a.svg}},
                             {{"--probe", a.probe}, cli::model_input(a.c.model), {"--games", a.c.games_file}});
  if (!a.svg.empty()) util::check_writable(a.svg);  // before the activations, not after
  const probes::Probe p = probes::load_probe(a.probe);
  std::string resolved;
  const model::LoadedCheckpoint ck = load_model(a.c, &resolved);
  check_probe_fits(p, a.probe, ck.params.cfg, resolved);
  // A probe fitted on a window is scored on that window unless --positions says otherwise.
  const std::vector<int> positions = resolve_positions(a.c, ck.params.cfg.n_ctx, p.info.positions, a.probe);  // before the games
  const std::string window = probes::positions_label(positions);
  const bool window_from_probe = !a.c.positions_given && !p.info.positions.empty() && window != "all";
  const std::vector<data::Game> games = load_games(a.c);
  const probes::Activations act = probes::extract_activations(ck.params, games, extract_options(a.c, {p.hook}, positions));
  const std::vector<uint8_t> y = probes::make_targets(act, p.target);
  const probes::Metrics m = probes::evaluate_probe(p, act.at(p.hook), y, act.move, 0, act.positions());
  // The baseline here is the best constant per cell on these games (an upper bound on a
  // baseline learnt elsewhere).
  const double baseline = probes::majority_accuracy(probes::majority_classes(y.data(), act.positions(), p.C), y.data(),
                                                    act.positions());
  if (!a.svg.empty()) {
    probes::BoardPicture pic;
    pic.title = std::string(probes::kind_name(p.kind)) + " " + probes::target_name(p.target) + " probe, " + p.hook +
                ": per-cell accuracy (%)";
    pic.values = m.cell_accuracy;
    pic.lo = std::min(0.5, *std::min_element(m.cell_accuracy.begin(), m.cell_accuracy.end()));
    pic.hi = 1.0;
    util::write_file_atomic(a.svg, probes::render_board_svg(pic));
  }
  if (a.c.json) {
    json j = probe_json(p);
    j["games"] = games.size();
    j["window"] = window;
    j["eval"] = metrics_json(m, baseline);
    if (!a.svg.empty()) j["svg"] = a.svg;
    std::printf("%s\n", util::json_text(j, 2).c_str());
    return 0;
  }
  std::printf("%s probe, %s basis, %s, on %zu games%s (model %s)\n", probes::kind_name(p.kind),
              probes::target_name(p.target), p.hook.c_str(), games.size(),
              window == "all" ? "" : (", token positions " + window + (window_from_probe ? " (the probe's own)" : "")).c_str(),
              resolved.c_str());
  if (!p.info.positions.empty() && p.info.positions != window)
    std::printf("  note: the probe was fitted on token positions %s, scored here on %s\n", p.info.positions.c_str(),
                window.c_str());
  print_metrics(m, p.target, baseline);
  if (!a.svg.empty()) std::printf("wrote %s\n", a.svg.c_str());
  return 0;
}

// ---- sweep -----------------------------------------------------------------------------------------

struct SweepArgs {
  Common c;
  std::string out;
  int hidden = 128;
  double max_memory_gb = 4;
  bool no_control = false;
};

int run_sweep(const SweepArgs& a) {
  std::string resolved;
  const model::LoadedCheckpoint ck = load_model(a.c, &resolved);
  const model::Config& cfg = ck.params.cfg;
  const std::vector<int> positions = resolve_positions(a.c, cfg.n_ctx);
  const std::string window = probes::positions_label(positions);
  const std::vector<data::Game> games = load_games(a.c);
  util::ensure_directory(a.out);
  util::check_writable(a.out + "/sweep.csv");  // an existing directory may be read-only
  probes::SweepOptions so;
  so.H = a.hidden;
  so.random_control = !a.no_control;
  so.max_memory_gb = a.max_memory_gb;
  so.extract = extract_options(a.c, {}, positions);
  so.extract.progress = false;
  const int total = (so.random_control ? 2 : 1) * (cfg.n_layers + 1) * 4;
  util::Progress bar("sweep", total, "probes", !a.c.quiet && !a.c.json);
  so.on_row = [&](int done, int, const probes::SweepRow& r) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "L%d %s %s %s %.1f%%", r.layer, r.random_model ? "random" : "trained",
                  probes::kind_name(r.kind), probes::target_name(r.target), 100 * r.accuracy);
    bar.update(done, buf);
  };
  const std::vector<probes::SweepRow> rows = probes::run_sweep(ck.params, games, so);
  bar.finish();

  std::string csv = "hook,layer,basis,kind,model,accuracy,majority_baseline\n";
  json jrows = json::array();
  for (const auto& r : rows) {
    const char* model = r.random_model ? "random" : "trained";
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s,%d,%s,%s,%s,%.6f,%.6f\n", r.hook.c_str(), r.layer, probes::target_name(r.target),
                  probes::kind_name(r.kind), model, r.accuracy, r.baseline);
    csv += buf;
    jrows.push_back({{"hook", r.hook}, {"layer", r.layer}, {"basis", probes::target_name(r.target)},
                     {"kind", probes::kind_name(r.kind)}, {"model", model}, {"accuracy", r.accuracy},
                     {"majority_baseline", r.baseline}});
  }
  const std::string dir = a.out;
  util::write_file_atomic(dir + "/sweep.csv", csv);
  json j = {{"model", resolved},
            {"config", cfg.describe()},
            {"games", games.size()},
            {"window", window},
            {"layer_meaning", "residual stream after `layer` blocks (0 = embeddings, blocks.0.hook_resid_pre)"},
            {"rows", jrows}};
  util::write_file_atomic(dir + "/sweep.json", util::json_text(j, 2) + "\n");

  const util::Plot plot = probes::sweep_plot(
      rows, "Probe accuracy by layer, " + cfg.describe() + " (m/t = mine/theirs, b/w = black/white)");
  util::write_file_atomic(dir + "/sweep.svg", util::render_svg(plot));

  if (a.c.json) {
    std::printf("%s\n", util::json_text(j, 2).c_str());
    return 0;
  }
  std::printf("probe test accuracy (%%) by layer, %s, %zu games%s:\n", cfg.describe().c_str(), games.size(),
              window == "all" ? "" : (", token positions " + window).c_str());
  std::printf("  layer  hook                       lin m/t  lin b/w  mlp m/t  mlp b/w%s\n",
              so.random_control ? "  | random: lin m/t  lin b/w  mlp m/t  mlp b/w" : "");
  for (int k = 0; k <= cfg.n_layers; ++k) {
    std::printf("  %5d  %-25s", k, probes::depth_hook(k).c_str());
    for (int m = 0; m < (so.random_control ? 2 : 1); ++m) {
      if (m) std::printf("  |        ");
      for (auto k2 : {probes::Kind::linear, probes::Kind::mlp})
        for (auto t : {probes::Target::mine_theirs, probes::Target::black_white})
          for (const auto& r : rows)
            if (r.layer == k && r.kind == k2 && r.target == t && r.random_model == (m == 1))
              std::printf("  %7.2f", 100 * r.accuracy);
    }
    std::printf("\n");
  }
  for (const auto& r : rows)
    if (r.layer == 0 && r.kind == probes::Kind::linear && !r.random_model)
      std::printf("  majority baseline %s: %.2f%%\n", probes::target_name(r.target), 100 * r.baseline);
  std::printf("wrote %s/sweep.csv, %s/sweep.json, %s/sweep.svg\n", dir.c_str(), dir.c_str(), dir.c_str());
  return 0;
}

// ---- show ------------------------------------------------------------------------------------------

struct ShowArgs {
  Common c;
  std::string probe, moves;
  int at = -1;
};

char cell_char(probes::Target t, int cls) {
  static const char bw[] = ".BW", mt[] = ".MT", bin[] = ".#";
  return t == probes::Target::black_white ? bw[cls] : t == probes::Target::mine_theirs ? mt[cls] : bin[cls];
}

int run_show(const ShowArgs& a) {
  const probes::Probe p = probes::load_probe(a.probe);
  std::string resolved;
  const model::LoadedCheckpoint ck = load_model(a.c, &resolved);
  check_probe_fits(p, a.probe, ck.params.cfg, resolved);
  if (a.at < -1 || a.at == 0) throw UserError("--at must be a move number >= 1 (default: the last move)", kUsage);
  const std::vector<int> squares = othello::parse_game(a.moves);
  if (squares.empty()) throw UserError("--moves is empty: give at least one move, e.g. \"f5 d6 c3\"", kUsage);
  const data::Game g = data::game_from_squares(squares);
  const int n = std::min<int>(g.length, ck.params.cfg.n_ctx);
  const int t = a.at > 0 ? a.at - 1 : n - 1;  // position t = the board after move t+1
  if (t >= n || a.at == 0)
    throw UserError("--at " + std::to_string(a.at) + " is outside moves 1.." + std::to_string(n) +
                        " (the model sees the first " + std::to_string(ck.params.cfg.n_ctx) + " moves)",
                    kUsage);
  probes::ExtractOptions ex = extract_options(a.c, {p.hook});
  ex.progress = false;
  ex.moves = {t};
  const probes::Activations act = probes::extract_activations(ck.params, {g}, ex);
  const std::vector<uint8_t> y = probes::make_targets(act, p.target);
  arma::fmat logits;
  probes::probe_forward(logits, p, act.at(p.hook));
  std::vector<uint8_t> pred;
  probes::probe_predict(pred, p, act.at(p.hook));
  std::array<double, 64> conf{};
  int right = 0;
  for (int s = 0; s < 64; ++s) {
    const float* z = logits.colptr(0) + s * p.C;
    double m = z[0], sum = 0;
    for (int k = 1; k < p.C; ++k) m = std::max<double>(m, z[k]);
    for (int k = 0; k < p.C; ++k) sum += std::exp(z[k] - m);
    conf[s] = std::exp(z[pred[s]] - m) / sum;
    right += pred[s] == y[s];
  }
  data::PositionLabels lab[60];
  data::label_game(g, lab);
  const auto names = probes::class_names(p.target);
  // Whether the probe was fitted at this position (null: it does not record its positions, or
  // records ones this model lacks): outside its window a reading is an extrapolation.
  const std::optional<bool> fitted = probes::in_positions(p.info.positions, t, ck.params.cfg.n_ctx);
  const json fitted_here = fitted ? json(*fitted) : json(nullptr);
  if (a.c.json) {
    json truth = json::array(), read = json::array(), pr = json::array();
    for (int s = 0; s < 64; ++s) {
      truth.push_back(names[y[s]]);
      read.push_back(names[pred[s]]);
      pr.push_back(conf[s]);
    }
    json j = probe_json(p);
    j["moves"] = othello::format_game(squares, true);
    j["position"] = t;
    j["to_move"] = lab[t].game_over ? "none" : othello::color_name(lab[t].to_move);
    j["true"] = truth;
    j["probe"] = read;
    j["probability"] = pr;
    j["correct_cells"] = right;
    j["fitted_position"] = fitted_here;
    std::printf("%s\n", util::json_text(j, 2).c_str());
    return 0;
  }
  std::printf("after move %d (%s), %s to move; %s %s probe at %s\n", t + 1, othello::square_name(g.moves[t]).c_str(),
              lab[t].game_over ? "nobody" : othello::color_name(lab[t].to_move), probes::kind_name(p.kind),
              probes::target_name(p.target), p.hook.c_str());
  std::printf("  true board                 probe's reading (! = wrong)\n");
  std::printf("    a b c d e f g h            a  b  c  d  e  f  g  h\n");
  for (int r = 0; r < 8; ++r) {
    std::printf("  %d", r + 1);
    for (int c = 0; c < 8; ++c) std::printf(" %c", cell_char(p.target, y[r * 8 + c]));
    std::printf("        %d", r + 1);
    for (int c = 0; c < 8; ++c) {
      const int s = r * 8 + c;
      std::printf(" %c%c", cell_char(p.target, pred[s]), pred[s] == y[s] ? ' ' : '!');
    }
    std::printf("\n");
  }
  std::printf("  %d/64 cells right; legend:", right);
  for (int k = 0; k < p.C; ++k) std::printf(" %c %s", cell_char(p.target, k), names[k].c_str());
  std::printf("\n");
  if (fitted_here == false)
    std::printf("  note: the probe was fitted on token positions %s only; position %d (after move %d) is outside them\n",
                p.info.positions.c_str(), t, t + 1);
  return 0;
}

// ---- registration ------------------------------------------------------------------------------------

ogpt::cli::Command reg("probe", "Probes of the residual stream: train, eval, sweep, show, export", [](CLI::App& sub) {
  sub.require_subcommand(1);
  auto ta = std::make_shared<TrainArgs>();
  auto* tr = sub.add_subcommand("train", "Train a linear or MLP probe on a model's activations");
  add_model_games(tr, ta->c);
  add_positions(tr, ta->c);
  tr->add_option("--hook", ta->hook, "resid_pre|resid_mid|resid_post|attn_out|mlp_out|mlp_post or a full hook name")
      ->capture_default_str();
  tr->add_option("--layer,-l", ta->layer,
                 "Layer L as in the papers: the residual stream after L blocks (resid_post: 0 = embeddings; "
                 "attn_out/mlp_out/mlp_post/resid_mid: of the L-th block). Default: 3/4 of the depth")
      ->check(ogpt::cli::nonnegative());
  tr->add_option("--basis", ta->basis, "mine-theirs, black-white, or a binary feature: empty, flipped, legal")
      ->capture_default_str();
  tr->add_option("--kind", ta->kind, "linear or mlp")->capture_default_str();
  tr->add_option("--hidden", ta->hidden, "MLP hidden width (shared by the 64 cells)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  // Unset options keep their "use the default" markers (0 or -1); given ones must be valid.
  tr->add_option("--epochs", ta->epochs, "Max passes over the training positions (default: linear 4, mlp 8)")
      ->check(ogpt::cli::positive());
  tr->add_option("--lr", ta->lr, "AdamW learning rate (default 1e-2)")->check(ogpt::cli::positive());
  tr->add_option("--wd", ta->wd, "AdamW weight decay (default 0.01)")->check(ogpt::cli::nonnegative());
  tr->add_option("--probe-batch", ta->probe_batch, "Positions per optimizer step (default 4096)")
      ->check(ogpt::cli::positive());
  tr->add_option("--probe-seed", ta->probe_seed, "Seed of the probe's initial weights and batch order")->capture_default_str();
  tr->add_option("--out,-o", ta->out, "Probe file to write");
  tr->add_option("--npy", ta->npy, "Also export the weights (and directions) as .npy into this directory");
  tr->add_flag("--control", ta->control, "Also train the same probe on a randomly initialised model of the same shape");

  auto ea = std::make_shared<EvalArgs>();
  auto* ev = sub.add_subcommand("eval", "Evaluate a probe file on games (use games it was not trained on)");
  ev->add_option("--probe,-p", ea->probe, "Probe file")->required();
  // The shipped probes are trained on the first games of stream 20231 (scripts/ship_default.sh),
  // the default of train; eval's default is another stream, so `--random N` scores unseen games.
  ea->c.seed = 20232;
  add_model_games(ev, ea->c);
  add_positions(ev, ea->c, true);
  ev->add_option("--svg", ea->svg, "Write a board-shaped picture of the per-cell accuracy");

  auto sa = std::make_shared<SweepArgs>();
  auto* sw = sub.add_subcommand("sweep", "Every layer x both bases x both kinds, plus the random-model control");
  add_model_games(sw, sa->c);
  add_positions(sw, sa->c);
  sw->add_option("--out,-o", sa->out, "Directory for sweep.csv, sweep.json, sweep.svg")->required();
  sw->add_option("--hidden", sa->hidden, "MLP hidden width")->capture_default_str()->check(CLI::Range(1, 65536));
  sw->add_option("--max-memory-gb", sa->max_memory_gb, "Activations held at once (layers are extracted in groups)")
      ->capture_default_str()
      ->check(ogpt::cli::positive());
  sw->add_flag("--no-control", sa->no_control, "Skip the randomly initialised model");

  auto sh = std::make_shared<ShowArgs>();
  auto* so = sub.add_subcommand("show", "The true board beside the probe's reading, after some moves");
  so->add_option("--probe,-p", sh->probe, "Probe file")->required();
  so->add_option("--model,-m", sh->c.model, "Model: checkpoint file or run directory (default: the shipped model)");
  so->add_option("--moves", sh->moves, "Moves in standard notation, e.g. \"f5 d6 c3\"")->required();
  so->add_option("--at", sh->at, "Show the board after this move number (1-based; default: the last move the model sees)")
      ->check(ogpt::cli::positive());
  so->add_option("--precision", sh->c.precision, "Model forward: bf16 or f32")->capture_default_str();
  so->add_flag("--json", sh->c.json, "Print the boards as JSON");

  auto xa = std::make_shared<std::pair<std::string, std::string>>();
  auto* xp = sub.add_subcommand("export", "Export a probe's weights and directions as .npy (NumPy, TransformerLens)");
  xp->add_option("--probe,-p", xa->first, "Probe file")->required();
  xp->add_option("--out,-o", xa->second, "Directory")->required();

  return [=]() -> int {
    if (tr->parsed()) return run_train(*ta);
    if (ev->parsed()) return run_eval(*ea);
    if (sw->parsed()) return run_sweep(*sa);
    if (so->parsed()) return run_show(*sh);
    if (xp->parsed()) {
      for (const auto& f : probes::export_probe_npy(probes::load_probe(xa->first), xa->second))
        std::printf("wrote %s\n", f.c_str());
      return 0;
    }
    throw CLI::CallForHelp();
  };
});

}  // namespace
