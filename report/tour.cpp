// The tour's steps: load, game, sweep, bench, saliency.
#include "report/tour.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "interventions/load.hpp"
#include "model/model_path.hpp"
#include "othello/game_record.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace ogpt::report {

namespace fs = std::filesystem;
using othello::Bitboard;

void apply_quick(TourOptions& o) {
  o.games = std::min(o.games, 60);
  o.eval_games = std::min(o.eval_games, 40);
  o.cases = std::min(o.cases, 4);
  o.epochs_linear = 1;
  o.epochs_mlp = 1;
  o.min_steps = 10;
  o.probe_batch = 512;
  o.eval_every = 0;
  o.max_nodes = std::min<uint64_t>(o.max_nodes, 300);
}

std::vector<data::Game> tour_games(uint64_t seed, int n) {
  std::vector<data::Game> g(std::max(0, n));
  data::generate_games(seed, 0, g.size(), g.data());
  return g;
}

probes::SweepOptions sweep_options(const TourOptions& o) {
  probes::SweepOptions so;
  so.H = 128;
  so.seed = 1;
  so.random_control = true;
  so.max_epochs_linear = o.epochs_linear;
  so.max_epochs_mlp = o.epochs_mlp;
  so.min_steps = o.min_steps;
  so.probe_batch = o.probe_batch;
  so.eval_every = o.eval_every;
  so.extract.batch = o.batch;
  so.extract.precision = model::Precision::bf16;
  so.extract.progress = false;
  return so;
}

const probes::SweepRow* SweepStep::find(int layer, probes::Target t, probes::Kind k, bool random_model) const {
  for (const auto& r : rows)
    if (r.layer == layer && r.target == t && r.kind == k && r.random_model == random_model) return &r;
  return nullptr;
}

int SweepStep::best_layer(probes::Target t, probes::Kind k) const {
  int best = -1;
  double acc = -1;
  for (const auto& r : rows)
    if (r.target == t && r.kind == k && !r.random_model && r.accuracy > acc) {
      acc = r.accuracy;
      best = r.layer;
    }
  return best;
}

void timed(Tour& t, const std::string& step, const std::function<void()>& f) {
  const auto w0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  f();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  t.times.push_back({step, wall, cpu});
  t.total_wall_s += wall;
  t.total_cpu_s += cpu;
}

std::string tour_probe_path(const std::string& resolved_model, const std::string& probe_arg) {
  return probe_arg.empty() ? (fs::path(model_dir_of(resolved_model)) / "probes").string() : probe_arg;
}

Tour tour_begin(const TourOptions& o) {
  if (o.games < 10) throw UserError("--games must be at least 10 (the probes split them 80/10/10 by game)", kUsage);
  if (o.cases < 1) throw UserError("--cases must be at least 1", kUsage);
  Tour t;
  t.opt = o;
  std::error_code ec;
  if (!o.model.empty() && !fs::exists(o.model, ec))
    throw IoError("--model " + o.model + ": no such file or directory (train a model with `othello-gpt train "
                  "--preset 8x256 --out DIR` and pass --model DIR, or leave --model out for the shipped one in " +
                  o.default_dir + ")");
  if (o.model.empty() && !fs::exists(fs::path(o.default_dir) / "model.ckpt", ec))
    throw IoError("no shipped model at " + (fs::path(o.default_dir) / "model.ckpt").string() +
                  " (it comes with the repository: check out data/default/; or train one with `othello-gpt train "
                  "--preset 8x256 --out DIR` and pass --model DIR)");
  t.gpt = interventions::load_gpt(o.model, o.default_dir, std::max(1, o.batch), &t.model_path);
  t.cfg = t.gpt->cfg();
  const std::string dir = model_dir_of(t.model_path);
  t.probe_path = tour_probe_path(t.model_path, o.probe);
  if (!fs::exists(t.probe_path, ec))
    throw IoError("no probes at " + t.probe_path + (o.probe.empty() ? " (the tour looks beside the model)" : "") +
                  ": the tour edits the board with them. Pass --probe DIR, or train one per layer with `othello-gpt "
                  "probe train --model " + (o.model.empty() ? dir : o.model) +
                  " --random 20000 --layer L --basis mine-theirs --kind linear --out " +
                  (fs::path(dir) / "probes").string() + "/linear-mine-theirs-L<L>.probe`");
  t.probes = interventions::load_probe_set(t.probe_path);
  if (t.probes.linear.empty())
    throw UserError(t.probe_path + ": no linear board probe (the tour's intervention is the linear edit); " +
                    t.probes.describe());
  for (auto& [layer, p] : t.probes.linear)
    if (p.d != t.cfg.d_model)
      throw UserError(t.probe_path + ": the layer-" + std::to_string(layer) + " probe reads " + std::to_string(p.d) +
                      " features but the model " + t.model_path + " has d_model " + std::to_string(t.cfg.d_model));
  t.card = load_card(dir);
  if (t.card.found && t.card.card.contains("seed") && t.card.card["seed"].is_number_unsigned() &&
      t.card.card["seed"].get<uint64_t>() == o.seed)
    t.warnings.push_back("the tour's game seed " + std::to_string(o.seed) +
                         " is the model's training seed: these games are not fresh (choose another --seed)");
  return t;
}

void tour_game(Tour& t) {
  GameStep& g = t.game;
  const data::Game game = data::random_game(t.opt.seed, 0);
  g.game_index = 0;
  const int n = std::min<int>({game.length, t.cfg.n_ctx});
  // The whole game in one forward pass: position p predicts move p+1.
  std::vector<uint8_t> tokens(size_t(t.cfg.n_ctx), 0);
  for (int i = 0; i < n; ++i) tokens[i] = uint8_t(othello::square_to_token(game.moves[i]));
  t.gpt->forward(tokens.data(), nullptr, 1);
  const float* logits = t.gpt->logits();
  const int V = t.cfg.d_vocab;
  const std::vector<uint64_t> legal = model::legal_after_each_move(game);
  // The position shown: after show_move moves, or the last position with a legal move (a game
  // can end early).
  int last = 0;
  for (int p = 0; p < n; ++p)
    if (legal[p]) last = p;
  const int show = std::clamp(t.opt.show_move, 1, last + 1);
  for (int p = 0; p < n; ++p) {
    if (!legal[p]) continue;  // game over
    interventions::Prediction pr;
    const float* l = logits + size_t(p) * V;
    float mx = -INFINITY;
    for (int v = 1; v < V; ++v) mx = std::max(mx, l[v]);
    double z = 0;
    for (int v = 1; v < V; ++v) z += std::exp(double(l[v]) - mx);
    for (int v = 1; v < V; ++v) {
      const int sq = othello::token_to_square(v);
      if (sq >= 0) pr.probs[sq] = float(std::exp(double(l[v]) - mx) / z);
    }
    const Bitboard top_n = interventions::top_n_squares(pr.probs, std::popcount(legal[p]));
    const int errors = interventions::count_errors(top_n, legal[p]);
    ++g.positions;
    g.top1_legal += (legal[p] >> std::countr_zero(interventions::top_n_squares(pr.probs, 1)) & 1) != 0;
    g.topn_exact += errors == 0;
    if (p == show - 1) {
      g.moves.assign(game.moves.begin(), game.moves.begin() + show);
      g.board = interventions::board_after(g.moves);
      g.legal = legal[p];
      g.pred = pr;
      g.predicted = top_n;
      g.errors = errors;
    }
  }
  // Legal top-1 and loss over fresh games (a bf16 forward, as `eval --bf16`).
  const std::vector<data::Game> games = tour_games(t.opt.seed, t.opt.eval_games);
  model::GPT fast(t.cfg, std::max(1, t.opt.batch), model::Precision::bf16);
  fast.params = t.gpt->params;
  fast.mark_params_changed();
  util::Progress bar("next-move check", games.size(), "games", t.opt.progress);
  g.eval = model::evaluate(fast, games, &bar);
  bar.finish();
}

void tour_sweep(Tour& t, const std::function<void(int, int, const probes::SweepRow&)>& on_row) {
  SweepStep& s = t.sweep;
  const std::vector<data::Game> games = tour_games(t.opt.seed, t.opt.games);
  probes::SweepOptions so = sweep_options(t.opt);
  // The split the sweep uses (run_sweep's own layout and rule: split by game).
  std::vector<uint64_t> offset;
  std::vector<uint8_t> move;
  probes::column_layout(games, t.cfg.n_ctx, so.extract.moves, offset, move);
  const probes::Split sp = probes::split_by_game(offset);
  s.games = games.size();
  s.positions = offset.back();
  s.train_games = sp.train_games;
  s.val_games = sp.val_games;
  s.test_games = sp.test_games;
  s.train_positions = sp.train_end - sp.train_begin;
  s.val_positions = sp.val_end - sp.val_begin;
  s.test_positions = sp.test_end - sp.test_begin;
  so.on_row = on_row;
  s.rows = probes::run_sweep(t.gpt->params, games, so);
}

void tour_bench(Tour& t, const std::function<void(uint64_t, uint64_t, const std::string&)>& on_case) {
  using namespace interventions;
  BenchStep& b = t.bench;
  std::vector<Method> methods = {Method::linear};
  if (t.opt.gradient) methods.push_back(Method::gradient);
  const uint64_t total = uint64_t(t.opt.cases) * 4 * methods.size();
  uint64_t done = 0;
  InterventionOptions base;  // default start layer (default_layer), every later layer with a probe
  for (CaseKind kind : {CaseKind::flip, CaseKind::erase}) {
    CaseOptions co;
    co.seed = t.opt.seed;
    co.per_set = t.opt.cases;
    co.max_nodes = t.opt.max_nodes;
    co.max_moves = std::min(co.max_moves, t.cfg.n_ctx);
    if (on_case) on_case(done, total, std::string("sampling ") + case_kind_name(kind) + " cases");
    const std::vector<EditCase> cases = make_cases(kind, co);
    const size_t first = b.cases.size();
    b.cases.insert(b.cases.end(), cases.begin(), cases.end());
    std::vector<Prediction> before;
    for (Method m : methods) {
      InterventionOptions opt = base;
      opt.method = m;
      const auto res = run_cases(
          *t.gpt, t.probes, cases, opt,
          [&](size_t k) { if (on_case) on_case(done + k, total, std::string(method_name(m)) + " " + case_kind_name(kind)); },
          before.empty() ? nullptr : &before);
      done += cases.size();
      if (before.empty())
        for (auto& r : res) before.push_back(r.before);
      for (BenchRow& row : summarise_by_set(method_name(m), case_kind_name(kind), cases, res)) b.rows.push_back(row);
      // the worked example: the first reachable flip, edited linearly
      if (m == Method::linear && b.example < 0 && kind == CaseKind::flip)
        for (size_t i = 0; i < cases.size(); ++i)
          if (cases[i].set == CaseSet::reachable) {
            b.example = int(first + i);
            b.example_result = res[i];
            break;
          }
    }
  }
  for (Method m : methods) {
    std::string& text = b.layers[method_name(m)];
    const int start = default_layer(m, t.probes, t.cfg.n_layers);
    for (auto& [l, p] : probes_for(t.probes, m))
      if (l >= start) {
        if (!text.empty()) text += ',';
        text += std::to_string(l);
      }
    if (m == Method::gradient) text += t.probes.mlp.empty() ? " (linear probes: no MLP probe)" : " (MLP probes)";
  }
}

void tour_saliency(Tour& t) {
  interventions::InterventionOptions opt;  // linear flips, default layers
  t.saliency_moves = t.game.moves;
  t.saliency = interventions::latent_saliency(*t.gpt, t.probes, t.saliency_moves, opt);
}

}  // namespace ogpt::report
