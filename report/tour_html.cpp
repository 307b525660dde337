// The tour's HTML report: one self-contained file (inline SVG and CSS, no scripts, no external
// files), every number measured in the run except the model card's, which are labelled.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "othello/game_record.hpp"
#include "probes/board_svg.hpp"
#include "report/tour.hpp"
#include "util/svg_plot.hpp"

namespace ogpt::report {

using othello::Bitboard;
using probes::Kind;
using probes::Target;

namespace {

std::string f(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string squares(Bitboard b) {
  std::string s;
  for (int sq : othello::squares_of(b)) {
    if (!s.empty()) s += ' ';
    s += othello::square_name(sq);
  }
  return s.empty() ? "(none)" : s;
}

// A measured number with an id (the tests compare it with the --json summary).
std::string num(const std::string& id, const std::string& text) {
  return "<span class=\"num\" id=\"" + util::xml_escape(id) + "\">" + util::xml_escape(text) + "</span>";
}

const char* kCss =
    "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;line-height:1.45;"
    "color:#222}h1{font-size:1.7em}h2{margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f2f2f2}td.l,th.l{text-align:left}svg{max-width:100%;height:auto}"
    ".row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}.note{color:#555;font-size:.92em}"
    ".card{background:#f7f7f0;border-left:4px solid #c8b560;padding:.5em 1em}"
    "pre{background:#f4f4f4;padding:.6em;overflow-x:auto}.num{font-variant-numeric:tabular-nums}";

probes::PositionPicture position(const othello::Board& b, Bitboard legal, const float* probs, Bitboard boxed,
                                 const std::string& title, const std::string& caption) {
  probes::PositionPicture p;
  p.title = title;
  p.caption = caption;
  p.black = b.black();
  p.white = b.white();
  p.legal = legal;
  p.boxed = boxed;
  if (probs)
    for (int sq = 0; sq < 64; ++sq) p.probs[sq] = probs[sq];
  return p;
}

// The pictures, one function each, so the report and tour_figures() draw the same ones.
std::string sweep_figure(const Tour& t) {
  return util::render_svg(
      probes::sweep_plot(t.sweep.rows, "Probe test accuracy by layer (m/t = mine/theirs, b/w = black/white)"));
}
std::string bench_figure(const Tour& t) {
  return interventions::bench_svg(t.bench.rows, "Errors per case after the edit, against the null baseline");
}
std::string saliency_figure(const Tour& t) {
  const auto& s = t.saliency;
  return interventions::saliency_svg(s, "Latent saliency of " + othello::square_name(s.move) + " after move " +
                                            std::to_string(t.saliency_moves.size()));
}

void card_section(std::ostringstream& o, const Tour& t) {
  o << "<h2 id=\"card\">The model and how it was trained</h2>\n";
  const bool legal_target = t.card.found && t.card.card.contains("target") && t.card.card["target"] == "legal";
  o << "<p>Model <code>" << util::xml_escape(t.model_path) << "</code>: " << util::xml_escape(t.cfg.describe())
    << ". It was trained on nothing but move sequences of uniformly random legal games, to predict "
    << (legal_target ? "the next move (its target at each position: the uniform distribution over the legal next "
                       "moves, which is what the played move averages to in random games)"
                     : "the next move")
    << ". It never saw a board.</p>\n";
  if (!t.card.found) {
    o << "<p class=\"note\">Model card skipped: " << util::xml_escape(t.card.note) << ".</p>\n";
    if (!t.card.curve_svg.empty())
      o << "<p>Training curve (from the training run):</p>\n" << scope_svg_ids(t.card.curve_svg, "card-") << "\n";
    return;
  }
  const auto& c = t.card.card;
  auto get = [&](const nlohmann::json& j, const char* k) -> std::string {
    if (!j.is_object() || !j.contains(k)) return "-";
    const auto& v = j[k];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_float()) return f("%.4g", v.get<double>());
    return v.dump();
  };
  o << "<div class=\"card\"><p><b>From the model card</b> (<code>" << util::xml_escape(t.card.path)
    << "</code>): figures measured by the training run, not by this tour.</p>\n<table>\n";
  for (const char* k : {"preset", "parameters", "seed", "target", "games_seen", "steps", "train_wall_hours", "machine",
                        "weights_dtype", "made", "meets_bars"})
    if (c.contains(k))
    o << "<tr><th class=\"l\">" << k << "</th><td class=\"l\">" << util::xml_escape(get(c, k)) << "</td></tr>\n";
  if (c.contains("heldout") && c["heldout"].is_object()) {
    const auto& h = c["heldout"];
    std::string legal = "-";
    if (h.contains("legal_top1") && h["legal_top1"].is_number()) legal = fmt_pct(h["legal_top1"].get<double>()) + "%";
    o << "<tr><th class=\"l\">held-out games (seed " << util::xml_escape(get(h, "seed")) << ")</th><td class=\"l\">" << util::xml_escape(get(h, "games"))
      << " games, " << util::xml_escape(get(h, "positions")) << " positions</td></tr>\n"
      << "<tr><th class=\"l\">legal top-1</th><td class=\"l\">" << util::xml_escape(legal) << "</td></tr>\n"
      << "<tr><th class=\"l\">loss / entropy floor / excess loss</th><td class=\"l\">" << util::xml_escape(get(h, "loss")) << " / "
      << util::xml_escape(get(h, "entropy_floor")) << " / " << util::xml_escape(get(h, "excess_loss")) << " nats per move</td></tr>\n";
  }
  // The shipped probes' test accuracy by layer (scripts/ship_default.sh), if the card has it.
  if (c.contains("probes") && c["probes"].is_object() && c["probes"].contains("test_accuracy_by_layer") &&
      c["probes"]["test_accuracy_by_layer"].is_object())
    for (auto& [name, accs] : c["probes"]["test_accuracy_by_layer"].items()) {
      if (!accs.is_array()) continue;
      std::string row;
      for (size_t i = 0; i < accs.size(); ++i)
        if (accs[i].is_number())
          row += std::string(row.empty() ? "" : " &middot; ") + "L" + std::to_string(i + 1) + " " +
                 fmt_pct(accs[i].get<double>()) + "%";
      o << "<tr><th class=\"l\">shipped " << util::xml_escape(name) << " probes, test accuracy by layer</th><td class=\"l\">" << row
        << "</td></tr>\n";
    }
  o << "</table>\n<p class=\"note\">The entropy floor is the loss of a perfect player of random games (the mean log "
       "of the number of legal moves); the excess loss is what the model has not learned yet.</p></div>\n";
  if (!t.card.curve_svg.empty())
    o << "<p>Training curve (from the training run):</p>\n" << scope_svg_ids(t.card.curve_svg, "card-") << "\n";
  else
    o << "<p class=\"note\">Training curve skipped: " << util::xml_escape(t.card.note) << ".</p>\n";
}

void game_section(std::ostringstream& o, const Tour& t) {
  const GameStep& g = t.game;
  const int n = std::popcount(g.legal);
  o << "<h2 id=\"game\">1. What the model predicts</h2>\n";
  o << "<p>A random game it has never seen (stream " << t.opt.seed << ", game " << g.game_index << "), after "
    << g.moves.size() << " moves: <code>" << util::xml_escape(othello::format_game(g.moves, true)) << "</code>. "
    << othello::color_name(g.board.to_move) << " is to move. Light dots mark the legal moves, the numbers are the "
    << "model's next-move probabilities, and yellow boxes are its top " << n << " (as many as there are legal moves).</p>\n";
  o << probes::render_position_svg(position(g.board, g.legal, g.pred.probs, g.predicted,
                                            "The model's next move after move " + std::to_string(g.moves.size()),
                                            "dots: legal moves; numbers: p(next move); yellow: the model's top-" +
                                                std::to_string(n)));
  o << "<p>Legal moves (" << n << "): <b>" << util::xml_escape(squares(g.legal)) << "</b>; the model's top " << n << ": <b>"
    << util::xml_escape(squares(g.predicted)) << "</b> &mdash; "
    << (g.errors == 0 ? "exactly the legal set." : "not the legal set (" + std::to_string(g.errors) + " errors).") << "</p>\n";
  o << "<p>Over all " << num("game-positions", std::to_string(g.positions)) << " positions of this game, the most probable "
    << "move is legal at " << num("game-top1-legal", std::to_string(g.top1_legal)) << " and the top-N is exactly the "
    << "legal set at " << num("game-topn-exact", std::to_string(g.topn_exact)) << ". Over "
    << num("eval-games", std::to_string(g.eval.games)) << " fresh games (" << g.eval.positions
    << " positions) the most probable move is legal " << num("eval-legal-top1", fmt_pct(g.eval.legal_top1)) << "% of "
    << "the time; the loss is " << num("eval-loss", f("%.4f", g.eval.loss)) << " nats per move against an entropy floor of "
    << f("%.4f", g.eval.entropy_floor) << ".</p>\n";
}

// Passes over the training positions a probe makes: max(epochs, min_steps x batch / positions).
double passes(const TourOptions& o, const SweepStep& s, double epochs) {
  const double by_steps = s.train_positions ? double(o.min_steps) * o.probe_batch / double(s.train_positions) : 0;
  return std::max(epochs, by_steps);
}

double best_random(const SweepStep& s) {
  double best = 0;
  for (const auto& r : s.rows)
    if (r.random_model) best = std::max(best, r.accuracy);
  return best;
}

void sweep_section(std::ostringstream& o, const Tour& t) {
  const SweepStep& s = t.sweep;
  o << "<h2 id=\"sweep\">2. Where is the board? Probes at every layer</h2>\n";
  o << "<p>A <i>probe</i> is a small classifier trained to read each of the 64 cells (empty or one of two colours) "
       "out of the model's residual stream at one layer. If a simple <b>linear</b> probe can read the board, the model "
       "represents it as directions in its activation space. The question is which colours: "
       "<b>black/white</b>, or <b>mine/theirs</b> (relative to the player about to move). Nanda, Lee &amp; "
       "Wattenberg (2023) found the board linear in mine/theirs (99.5% on their 8x512 model) but not in black/white "
       "(about 75%), where only a nonlinear MLP probe succeeds (Li et al. 2023).</p>\n";
  o << "<p>Measured here on " << num("sweep-games", std::to_string(s.games)) << " fresh games = "
    << num("sweep-positions", std::to_string(s.positions)) << " positions, split by game: probes trained on "
    << s.train_positions << " positions (" << s.train_games << " games), early-stopped on " << s.val_positions
    << ", tested on " << num("sweep-test-positions", std::to_string(s.test_positions)) << " (" << s.test_games
    << " games). Each probe is trained with AdamW for at least " << t.opt.min_steps << " steps of "
    << t.opt.probe_batch << " positions (" << f("%.1f", passes(t.opt, s, t.opt.epochs_linear)) << " passes over the "
    << "training positions for linear probes, " << f("%.1f", passes(t.opt, s, t.opt.epochs_mlp))
    << " for MLP probes with a hidden layer of 128), keeping the weights with the best validation loss. Two controls: the same probes on a <b>randomly initialised</b> model of the same shape "
       "(what any network's activations give away), and the <b>per-cell majority class</b> (no model at all).</p>\n";
  o << scope_svg_ids(sweep_figure(t), "sweep-plot-");
  o << "<table>\n<tr><th>layer</th><th>linear m/t</th><th>linear b/w</th><th>MLP m/t</th><th>MLP b/w</th>"
       "<th>random: linear m/t</th><th>random: linear b/w</th><th>random: MLP m/t</th><th>random: MLP b/w</th></tr>\n";
  for (int k = 0; k <= t.cfg.n_layers; ++k) {
    o << "<tr><td>" << k << "</td>";
    for (int m = 0; m < 2; ++m)
      for (auto kind : {Kind::linear, Kind::mlp})
        for (auto tg : {Target::mine_theirs, Target::black_white}) {
          const probes::SweepRow* r = s.find(k, tg, kind, m == 1);
          o << "<td>" << (r ? num(sweep_cell_id(*r), fmt_pct(r->accuracy)) : "-") << "</td>";
        }
    o << "</tr>\n";
  }
  o << "</table>\n";
  const probes::SweepRow* bm = s.find(0, Target::mine_theirs, Kind::linear, false);
  const probes::SweepRow* bb = s.find(0, Target::black_white, Kind::linear, false);
  if (bm && bb)
    o << "<p>Test accuracy in percent over 64 cells x 3 classes; layer k = the residual stream after k blocks (0 = the "
         "embeddings). Per-cell majority baseline: mine/theirs "
      << num("baseline-mine-theirs", fmt_pct(bm->baseline)) << "%, black/white "
      << num("baseline-black-white", fmt_pct(bb->baseline)) << "%.</p>\n";
  const int lm = s.best_layer(Target::mine_theirs, Kind::linear);
  const int mb = s.best_layer(Target::black_white, Kind::mlp);
  const probes::SweepRow* a = s.find(lm, Target::mine_theirs, Kind::linear, false);
  const probes::SweepRow* b = s.find(lm, Target::black_white, Kind::linear, false);
  const probes::SweepRow* c = s.find(mb, Target::black_white, Kind::mlp, false);
  if (a && b && c) {
    o << "<p>In this run the best linear mine/theirs probe (layer " << lm << ") reads " << fmt_pct(a->accuracy)
      << "% of the cells; the linear black/white probe at the same layer reads " << fmt_pct(b->accuracy)
      << "%, and the best MLP black/white probe (layer " << mb << ") " << fmt_pct(c->accuracy)
      << "%. The randomly initialised model's best probe reads " << fmt_pct(best_random(s))
      << "%: what the trained model's probes read above that, the model has learned to represent. "
         "The boards below show where each probe succeeds, cell by cell (test accuracy, %).</p>\n<div class=\"row\">\n";
    for (auto* r : {a, b, c}) {
      probes::BoardPicture pic;
      pic.title = std::string(r->kind == Kind::linear ? "linear " : "MLP ") + probes::target_name(r->target) + ", layer " +
                  std::to_string(r->layer);
      pic.values = r->cell_accuracy;
      pic.lo = std::min(0.5, *std::min_element(r->cell_accuracy.begin(), r->cell_accuracy.end()));
      pic.hi = 1.0;
      o << probes::render_board_svg(pic);
    }
    o << "</div>\n";
  }
}

void bench_section(std::ostringstream& o, const Tour& t) {
  const BenchStep& b = t.bench;
  o << "<h2 id=\"intervention\">3. Editing the board inside the model</h2>\n";
  o << "<p>If the model really uses this board, changing the board <i>inside the model</i> should change its "
       "predictions the way the rules say. An <b>intervention</b> takes a position, picks an occupied cell, and "
       "rewrites the model's activation so that the linear probe reads that cell as flipped (mine &harr; theirs) or "
       "erased (empty), at the last position, from a start layer on. Two methods: <b>linear</b> (Nanda et al.: move "
       "the activation along the linear probe's direction for that cell; layers "
    << util::xml_escape(b.layers.count("linear") ? b.layers.at("linear") : "-") << ")";
  if (b.layers.count("gradient"))
    o << " and <b>gradient</b> (Li et al.: gradient descent on the activation until the probe reads the new board; "
         "layers "
      << util::xml_escape(b.layers.at("gradient")) << ")";
  o << ", with the probes in <code>" << util::xml_escape(t.probe_path)
    << "</code>. Then we compare the model's top-N moves with the legal moves of the <i>edited</i> board. "
       "Errors = squares predicted but not legal + legal but not predicted. The null baseline is the unedited "
       "model scored against the edited board: how wrong it would be if the edit did nothing. <i>Unedited</i> is the "
       "unedited model scored against the unedited board: the model's own error, the floor an edit can reach (near "
       "0 for a model that has learnt the rules). Reachable cases "
       "are edited boards whose discs a legal game was found to produce (the side to move not matched); for "
       "unreachable ones the search found no such game (a proof where it was exhausted, else within its budget), "
       "so the model is unlikely to have seen them in training.</p>\n";
  o << "<table>\n<tr><th class=\"l\">method</th><th class=\"l\">kind</th><th class=\"l\">set</th><th>cases</th>"
       "<th>errors per case</th><th>95% CI</th><th>null</th><th>null 95% CI</th><th>unedited</th><th>exact</th></tr>\n";
  for (auto& r : b.rows)
    o << "<tr><td class=\"l\">" << util::xml_escape(r.method) << "</td><td class=\"l\">" << util::xml_escape(r.kind) << "</td><td class=\"l\">"
      << util::xml_escape(r.set) << "</td><td>" << r.cases << "</td><td>" << num(bench_cell_id(r, "errors"), fmt_err(r.errors_mean))
      << "</td><td>&plusmn; " << num(bench_cell_id(r, "ci"), fmt_err(r.errors_ci95)) << "</td><td>"
      << num(bench_cell_id(r, "null"), fmt_err(r.null_mean)) << "</td><td>&plusmn; " << fmt_err(r.null_ci95) << "</td><td>"
      << num(bench_cell_id(r, "unedited"), fmt_err(r.unedited_mean)) << "</td><td>"
      << num(bench_cell_id(r, "exact"), fmt_pct(r.reached)) << "%</td></tr>\n";
  o << "</table>\n<p class=\"note\">" << b.cases.size() << " cases from stream " << t.opt.seed << " (" << t.opt.cases
    << " per kind and set); only edits that change the legal set. Exact = cases with no error at all. Nanda et al. "
       "report 0.10 (flip) and 0.02 (erase) average errors for the linear edit on their model, against a null of "
       "about 2.7.</p>\n";
  for (const std::string method : {"linear", "gradient"}) {
    double e = 0, n = 0;
    int k = 0;
    for (auto& r : b.rows)
      if (r.method == method) e += r.errors_mean * r.cases, n += r.null_mean * r.cases, k += r.cases;
    if (k)
      o << "<p>Over all " << k << " cases, the " << method << " edit leaves " << fmt_err(e / k)
        << " errors per case where the unedited model makes " << fmt_err(n / k) << ": the edit "
        << (e < n ? "moves the predictions toward the edited board's legal moves"
                  : "does not move the predictions toward the edited board's legal moves")
        << (e < 0.25 * n ? "." : e < n ? ", but only part of the way." : ".") << "</p>\n";
  }
  o << bench_figure(t);
  if (b.example < 0) return;
  const auto& c = b.cases[b.example];
  const auto& r = b.example_result;
  const std::string from = interventions::cell_state_name(interventions::get_cell_state(r.truth.before, c.cell));
  o << "<h3>A worked intervention</h3>\n<p>The benchmark's first reachable flip case (not chosen for success), linear "
       "edit: after <code>"
    << util::xml_escape(othello::format_game(c.moves, true)) << "</code>, " << othello::color_name(r.truth.before.to_move)
    << " to move, cell <b>" << othello::square_name(c.cell) << "</b> goes from " << from << " to "
    << interventions::cell_state_name(c.target) << ". Left: the real board and the model's prediction; right: the "
    << "edited board (red dashes) and the edited model's prediction.</p>\n<div class=\"row\">\n";
  const int nb = std::popcount(r.truth.legal_before), na = std::popcount(r.truth.legal_after);
  auto before = position(r.truth.before, r.truth.legal_before, r.before.probs, r.predicted_before, "Before the edit",
                         "yellow: the model's top-" + std::to_string(nb) + "; dots: legal moves");
  auto after = position(r.truth.after, r.truth.legal_after, r.after.probs, r.predicted_after,
                        "After " + othello::square_name(c.cell) + " " + from + " -> " + interventions::cell_state_name(c.target),
                        "yellow: the edited model's top-" + std::to_string(na) + "; dots: legal moves of the edited board");
  after.highlight = othello::square_bit(c.cell);
  o << probes::render_position_svg(before) << probes::render_position_svg(after) << "</div>\n";
  o << "<table>\n<tr><th class=\"l\"></th><th class=\"l\">before the edit</th><th class=\"l\">after the edit</th></tr>\n"
    << "<tr><td class=\"l\">legal moves</td><td class=\"l\">" << util::xml_escape(squares(r.truth.legal_before)) << "</td><td class=\"l\">"
    << util::xml_escape(squares(r.truth.legal_after)) << "</td></tr>\n<tr><td class=\"l\">model's top-N</td><td class=\"l\">"
    << util::xml_escape(squares(r.predicted_before)) << "</td><td class=\"l\">" << util::xml_escape(squares(r.predicted_after)) << "</td></tr>\n"
    << "<tr><td class=\"l\">errors vs the edited board</td><td class=\"l\">"
    << num("example-null-errors", std::to_string(r.null_errors)) << " (unedited model)</td><td class=\"l\">"
    << num("example-errors", std::to_string(r.errors)) << "</td></tr>\n</table>\n";
}

void saliency_section(std::ostringstream& o, const Tour& t) {
  const auto& s = t.saliency;
  o << "<h2 id=\"saliency\">4. Which discs does a prediction depend on?</h2>\n";
  o << "<p>Latent saliency (Li et al. 2023): for step 1's position, flip each disc in turn inside the model (the same "
       "linear edit) and measure how much the probability of the model's favourite move, <b>"
    << othello::square_name(s.move) << "</b> (p = " << num("saliency-p", f("%.3f", s.p0))
    << "), drops. Red discs matter to the prediction (flipping them lowers p), blue ones work against it. The rules say "
       "which discs should matter: a move is legal only if it flips a line of the opponent's discs that ends in one "
       "of the mover's, so a model that tracks the board should care most about the discs on the lines through "
       "the move.</p>\n";
  o << saliency_figure(t);
}

void method_section(std::ostringstream& o, const Tour& t) {
  o << "<h2 id=\"method\">How this report was made</h2>\n<p>Every number above was measured by <code>othello-gpt "
       "tour</code> in this run, except those in the model-card box and the published figures quoted from the papers. "
       "Steps and their cost on this machine (CPU = process CPU time, all threads):</p>\n<table>\n"
       "<tr><th class=\"l\">step</th><th>wall (s)</th><th>CPU (s)</th></tr>\n";
  for (auto& st : t.times)
    o << "<tr><td class=\"l\">" << util::xml_escape(st.step) << "</td><td>" << f("%.1f", st.wall_s) << "</td><td>" << f("%.1f", st.cpu_s)
      << "</td></tr>\n";
  o << "<tr><td class=\"l\">total</td><td>" << f("%.1f", t.total_wall_s) << "</td><td>" << f("%.1f", t.total_cpu_s)
    << "</td></tr>\n</table>\n";
  for (auto& w : t.warnings) o << "<p class=\"note\">Warning: " << util::xml_escape(w) << "</p>\n";
  o << "<p>Go further: <code>othello-gpt probe sweep --random 20000</code> (more games, full probe training), "
       "<code>othello-gpt intervene bench --cases 1000</code> (Li et al.'s benchmark size, both methods), "
       "<code>othello-gpt intervene --moves \"f5 d6 c3 d3\" --cell d3 --to empty</code> (one edit of your own). "
       "Reference: Li et al., <i>Emergent World Representations</i> (ICLR 2023); Nanda, Lee &amp; Wattenberg, "
       "<i>Emergent Linear Representations in World Models of Self-Supervised Sequence Models</i> (2023).</p>\n";
}

}  // namespace

std::string tour_html(const Tour& t) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Othello-GPT tour: "
    << util::xml_escape(t.cfg.describe()) << "</title>\n<style>" << kCss << "</style>\n</head>\n<body>\n";
  o << "<h1>A tour of Othello-GPT</h1>\n<p id=\"about\">A GPT trained only to predict legal next moves of random "
       "Othello games learns to keep track of the board, although it never sees one. This report checks that claim "
       "on one model, in four steps: its predictions (1), probes that read the board out of its activations (2), "
       "edits of that board inside the model that change its predictions the way the rules say (3), and which discs "
       "a prediction depends on (4). The <b>linear representation hypothesis</b> is the thread: the board is stored "
       "as directions in activation space, read linearly as <i>mine / theirs</i> (relative to the player to move) "
       "rather than black / white, and adding or removing those directions edits the board the model "
       "believes in.</p>\n";
  card_section(o, t);
  game_section(o, t);
  sweep_section(o, t);
  bench_section(o, t);
  saliency_section(o, t);
  method_section(o, t);
  o << "</body>\n</html>\n";
  return o.str();
}

std::vector<std::pair<std::string, std::string>> tour_figures(const Tour& t) {
  return {{"probe-sweep.svg", sweep_figure(t)}, {"intervention-bench.svg", bench_figure(t)},
          {"saliency.svg", saliency_figure(t)}};
}

}  // namespace ogpt::report
