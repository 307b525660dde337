// The tour's terminal text and its JSON summary (every measured number).
#include <algorithm>
#include <bit>
#include <cstdio>
#include <sstream>

#include "othello/game_record.hpp"
#include "report/tour.hpp"

namespace ogpt::report {

using othello::Bitboard;
using nlohmann::json;

namespace {

std::string printf_str(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::vector<std::string> square_names(Bitboard b) {
  std::vector<std::string> v;
  for (int sq : othello::squares_of(b)) v.push_back(othello::square_name(sq));
  return v;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) {
    if (!s.empty()) s += ' ';
    s += x;
  }
  return s.empty() ? "(none)" : s;
}

// Squares by decreasing probability.
std::vector<int> ranked(const interventions::Prediction& p, int k) {
  std::vector<int> sq;
  for (int s = 0; s < 64; ++s)
    if (!othello::is_centre(s)) sq.push_back(s);
  std::stable_sort(sq.begin(), sq.end(), [&](int a, int b) { return p.probs[a] > p.probs[b]; });
  sq.resize(std::min<size_t>(sq.size(), size_t(k)));
  return sq;
}

const char* short_target(probes::Target t) { return t == probes::Target::mine_theirs ? "m/t" : "b/w"; }

}  // namespace

std::string fmt_pct(double fraction) { return printf_str("%.2f", 100 * fraction); }
std::string fmt_err(double errors) { return printf_str("%.3f", errors); }

std::string sweep_cell_id(const probes::SweepRow& r) {
  return std::string("sweep-") + (r.random_model ? "random" : "trained") + "-" + probes::kind_name(r.kind) + "-" +
         probes::target_name(r.target) + "-L" + std::to_string(r.layer);
}

std::string bench_cell_id(const interventions::BenchRow& r, const std::string& what) {
  return "bench-" + r.method + "-" + r.kind + "-" + r.set + "-" + what;
}

std::string game_text(const Tour& t) {
  const GameStep& g = t.game;
  std::ostringstream o;
  const int n = std::popcount(g.legal);
  o << "Step 1. A fresh random game (stream " << t.opt.seed << ", game " << g.game_index << "), after move "
    << g.moves.size() << ": " << othello::format_game(g.moves, true) << "\n\n";
  o << othello::board_to_string(g.board, g.legal);
  o << othello::color_name(g.board.to_move) << " to move; legal (*) " << n << ": " << join(square_names(g.legal)) << "\n";
  o << "model's next move (top " << std::max(n, 5) << "):";
  for (int sq : ranked(g.pred, std::max(n, 5)))
    o << " " << othello::square_name(sq) << " " << printf_str("%.1f%%", 100.0 * g.pred.probs[sq])
      << ((g.legal >> sq & 1) ? "" : " (illegal)");
  o << "\ntop-" << n << " == legal set: " << (g.errors == 0 ? "yes" : "no (" + std::to_string(g.errors) + " errors)")
    << "\nover this game's " << g.positions << " positions: top-1 legal at " << g.top1_legal << ", top-N exactly the legal set at "
    << g.topn_exact << "\n";
  o << "over " << g.eval.games << " fresh games (" << g.eval.positions << " positions): legal top-1 "
    << fmt_pct(g.eval.legal_top1) << "%, loss " << printf_str("%.4f", g.eval.loss) << " nats/move (entropy floor "
    << printf_str("%.4f", g.eval.entropy_floor) << ", excess " << printf_str("%.4f", g.eval.excess_loss) << ")\n";
  return o.str();
}

std::string sweep_text(const Tour& t) {
  const SweepStep& s = t.sweep;
  std::ostringstream o;
  o << "Step 2. Probe sweep: " << s.games << " fresh games = " << s.positions << " positions (probes trained on "
    << s.train_positions << ", early-stopped on " << s.val_positions << ", tested on " << s.test_positions
    << ", split by game); test accuracy (%) over 64 cells x 3 classes\n";
  o << "  layer   lin m/t  lin b/w  mlp m/t  mlp b/w   | random model: lin m/t  lin b/w  mlp m/t  mlp b/w\n";
  for (int k = 0; k <= t.cfg.n_layers; ++k) {
    o << printf_str("  %5.0f ", k);
    for (int m = 0; m < 2; ++m) {
      if (m) o << "   |              ";
      for (auto kind : {probes::Kind::linear, probes::Kind::mlp})
        for (auto tg : {probes::Target::mine_theirs, probes::Target::black_white}) {
          const probes::SweepRow* r = s.find(k, tg, kind, m == 1);
          o << "  " << (r ? printf_str("%7.2f", 100 * r->accuracy) : std::string("      -"));
        }
    }
    o << "\n";
  }
  for (auto tg : {probes::Target::mine_theirs, probes::Target::black_white})
    if (const probes::SweepRow* r = s.find(0, tg, probes::Kind::linear, false))
      o << "  per-cell majority baseline " << short_target(tg) << ": " << fmt_pct(r->baseline) << "%\n";
  o << "  (layer k = residual stream after k blocks; m/t = mine/theirs, b/w = black/white)\n";
  return o.str();
}

std::string bench_text(const Tour& t) {
  const BenchStep& b = t.bench;
  std::ostringstream o;
  o << "Step 3. Intervention benchmark: " << b.cases.size() << " cases (" << t.opt.cases << " per kind x set); edits at layers";
  for (auto& [m, l] : b.layers) o << " " << m << " " << l << ";";
  o << "\n";
  o << "  method    kind   set           cases  errors (95% CI)    null (95% CI)   unedited   exact\n";
  for (auto& r : b.rows) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  %-9s %-6s %-12s %6d  %6.3f +- %-6.3f  %5.3f +- %-5.3f %8.3f %6.1f%%\n",
                  r.method.c_str(), r.kind.c_str(), r.set.c_str(), r.cases, r.errors_mean, r.errors_ci95, r.null_mean,
                  r.null_ci95, r.unedited_mean, 100 * r.reached);
    o << buf;
  }
  o << "  errors = false positives + false negatives of the model's top-N (N = legal moves after the edit) against the "
       "edited board's legal moves; null = the unedited model against the edited board; unedited = the unedited model "
       "against the unedited board (its own error, the floor an edit can reach)\n";
  if (b.example >= 0) {
    const auto& c = b.cases[b.example];
    const auto& r = b.example_result;
    o << "\n  worked intervention (the benchmark's first reachable flip case, linear edit): after "
      << othello::format_game(c.moves, true).substr(0, 80) << (c.moves.size() > 27 ? " ..." : "") << "\n  "
      << othello::square_name(c.cell) << " " << interventions::cell_state_name(interventions::get_cell_state(r.truth.before, c.cell))
      << " -> " << interventions::cell_state_name(c.target) << " for " << othello::color_name(r.truth.before.to_move) << " (to move)\n";
    o << "  legal before: " << join(square_names(r.truth.legal_before)) << "\n";
    o << "  legal after:  " << join(square_names(r.truth.legal_after)) << "\n";
    o << "  model before (top-" << std::popcount(r.truth.legal_before) << "): " << join(square_names(r.predicted_before)) << "\n";
    o << "  model after  (top-" << std::popcount(r.truth.legal_after) << "): " << join(square_names(r.predicted_after)) << "\n";
    o << "  errors after the edit " << r.errors << "; unedited model against the edited board " << r.null_errors << "\n";
  }
  return o.str();
}

std::string saliency_text(const Tour& t) {
  const auto& s = t.saliency;
  std::vector<int> cells;
  for (int c : othello::squares_of(s.cells)) cells.push_back(c);
  std::sort(cells.begin(), cells.end(), [&](int x, int y) { return s.s[x] > s.s[y]; });
  std::ostringstream o;
  o << "Step 4. Latent saliency of the model's move " << othello::square_name(s.move) << " (p = "
    << printf_str("%.3f", s.p0) << ") in step 1's position; most salient discs:";
  for (size_t i = 0; i < cells.size() && i < 6; ++i)
    o << " " << othello::square_name(cells[i]) << printf_str(" %+.3f", s.s[cells[i]]);
  o << "\n";
  return o.str();
}

json tour_json(const Tour& t, const std::string& html_path) {
  json j;
  j["model"] = t.model_path;
  j["config"] = t.cfg.describe();
  j["probes"] = t.probe_path;
  j["probe_layers"] = t.probes.describe();
  j["seed"] = t.opt.seed;
  j["report"] = html_path;
  j["warnings"] = t.warnings;
  j["card"] = t.card.found ? t.card.card : json(nullptr);
  j["card_note"] = t.card.note;
  const GameStep& g = t.game;
  json top = json::array();
  for (int sq : ranked(g.pred, std::max(std::popcount(g.legal), 5)))
    top.push_back({{"square", othello::square_name(sq)}, {"p", g.pred.probs[sq]}, {"legal", bool(g.legal >> sq & 1)}});
  j["game"] = {{"game_index", g.game_index},
               {"moves", othello::format_game(g.moves, true)},
               {"to_move", othello::color_name(g.board.to_move)},
               {"legal", square_names(g.legal)},
               {"predicted", square_names(g.predicted)},
               {"top", top},
               {"errors", g.errors},
               {"topn_exact", g.errors == 0},
               {"game_positions", g.positions},
               {"game_top1_legal", g.top1_legal},
               {"game_topn_exact", g.topn_exact},
               {"eval", {{"games", g.eval.games},
                         {"positions", g.eval.positions},
                         {"legal_top1", g.eval.legal_top1},
                         {"loss", g.eval.loss},
                         {"entropy_floor", g.eval.entropy_floor},
                         {"excess_loss", g.eval.excess_loss}}}};
  const SweepStep& s = t.sweep;
  json rows = json::array();
  for (auto& r : s.rows)
    rows.push_back({{"id", sweep_cell_id(r)}, {"hook", r.hook}, {"layer", r.layer},
                    {"basis", probes::target_name(r.target)}, {"kind", probes::kind_name(r.kind)},
                    {"model", r.random_model ? "random" : "trained"}, {"accuracy", r.accuracy},
                    {"majority_baseline", r.baseline}, {"cell_accuracy", r.cell_accuracy}});
  j["sweep"] = {{"games", s.games},
                {"positions", s.positions},
                {"train_games", s.train_games}, {"val_games", s.val_games}, {"test_games", s.test_games},
                {"train_positions", s.train_positions},
                {"val_positions", s.val_positions},
                {"test_positions", s.test_positions},
                {"epochs_linear", t.opt.epochs_linear},
                {"epochs_mlp", t.opt.epochs_mlp},
                {"min_steps", t.opt.min_steps},
                {"probe_batch", t.opt.probe_batch},
                {"rows", rows}};
  const BenchStep& b = t.bench;
  json brows = json::array();
  for (auto& r : b.rows)
    brows.push_back({{"id", bench_cell_id(r, "errors")}, {"method", r.method}, {"kind", r.kind}, {"set", r.set},
                     {"cases", r.cases}, {"errors_mean", r.errors_mean}, {"errors_ci95", r.errors_ci95},
                     {"null_mean", r.null_mean}, {"null_ci95", r.null_ci95}, {"unedited_mean", r.unedited_mean},
                     {"exact", r.reached},
                     {"legal_changed_mean", r.changed_mean}, {"prefix_mean", r.prefix_mean}, {"proven", r.proven}});
  j["bench"] = {{"cases", b.cases.size()}, {"cases_per_set", t.opt.cases}, {"layers", b.layers}, {"rows", brows}};
  j["bench"]["example_method"] = "linear";
  if (b.example >= 0) {
    const auto& c = b.cases[b.example];
    const auto& r = b.example_result;
    j["bench"]["example"] = {{"moves", othello::format_game(c.moves, true)},
                             {"cell", othello::square_name(c.cell)},
                             {"from", interventions::cell_state_name(interventions::get_cell_state(r.truth.before, c.cell))},
                             {"to", interventions::cell_state_name(c.target)},
                             {"legal_before", square_names(r.truth.legal_before)},
                             {"legal_after", square_names(r.truth.legal_after)},
                             {"predicted_before", square_names(r.predicted_before)},
                             {"predicted_after", square_names(r.predicted_after)},
                             {"errors", r.errors},
                             {"null_errors", r.null_errors}};
  }
  json sal = json::object();
  for (int c : othello::squares_of(t.saliency.cells)) sal[othello::square_name(c)] = t.saliency.s[c];
  j["saliency"] = {{"moves", othello::format_game(t.saliency_moves, true)},
                   {"move", othello::square_name(t.saliency.move)},
                   {"p", t.saliency.p0},
                   {"cells", sal}};
  json times = json::array();
  for (auto& st : t.times) times.push_back({{"step", st.step}, {"wall_s", st.wall_s}, {"cpu_s", st.cpu_s}});
  j["timing"] = {{"steps", times}, {"wall_s", t.total_wall_s}, {"cpu_s", t.total_cpu_s}};
  return j;
}

}  // namespace ogpt::report
