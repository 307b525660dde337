// Probe experiments: one probe with its metrics, and the layer sweep.
#include "probes/experiment.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace ogpt::probes {

namespace {
arma::fmat view(const arma::fmat& X, uint64_t begin, uint64_t end) {
  return arma::fmat(const_cast<float*>(X.colptr(begin)), X.n_rows, end - begin, false, true);
}
}  // namespace

Metrics evaluate_probe(const Probe& p, const arma::fmat& X, const std::vector<uint8_t>& y,
                       const std::vector<uint8_t>& move, uint64_t begin, uint64_t end) {
  std::vector<uint8_t> pred;
  if (end > begin) probe_predict(pred, p, view(X, begin, end));
  return compute_metrics(pred.data(), y.data() + begin * 64, move.data() + begin, end - begin, p.C);
}

FitResult fit_probe(const Activations& a, const std::string& hook, const std::vector<uint8_t>& y, Target target,
                    Kind kind, int H, const TrainOptions& opt, const Split& s) {
  const arma::fmat& X = a.at(hook);
  if (s.train_end <= s.train_begin) throw UserError("no training positions for the probe (too few games?)");
  FitResult r;
  r.probe = make_probe(kind, target, int(X.n_rows), H, opt.seed);
  r.probe.hook = hook;
  r.probe.layer = hook_layer(hook, a.cfg);
  r.train = train_probe(r.probe, view(X, s.train_begin, s.train_end), y.data() + s.train_begin * 64,
                        view(X, s.val_begin, s.val_end), y.data() + s.val_begin * 64, opt);
  r.test = evaluate_probe(r.probe, X, y, a.move, s.test_begin, s.test_end);
  r.val_accuracy = evaluate_probe(r.probe, X, y, a.move, s.val_begin, s.val_end).accuracy;
  const auto maj = majority_classes(y.data() + s.train_begin * 64, s.train_end - s.train_begin, r.probe.C);
  r.baseline = majority_accuracy(maj, y.data() + s.test_begin * 64, s.test_end - s.test_begin);
  TrainInfo& info = r.probe.info;
  info.games_train = s.train_games;
  info.games_val = s.val_games;
  info.games_test = s.test_games;
  info.positions_train = s.train_end - s.train_begin;
  info.steps = r.train.steps;
  info.epochs = r.train.epochs;
  info.val_accuracy = float(r.val_accuracy);
  info.test_accuracy = float(r.test.accuracy);
  info.test_loss = s.test_end > s.test_begin
                       ? probe_loss(r.probe, view(X, s.test_begin, s.test_end), y.data() + s.test_begin * 64)
                       : 0.0f;
  info.seed = opt.seed;
  info.positions = positions_label(a.window);
  return r;
}

std::string depth_hook(int k) {
  return k == 0 ? "blocks.0.hook_resid_pre" : "blocks." + std::to_string(k - 1) + ".hook_resid_post";
}

std::vector<SweepRow> run_sweep(const model::ParamBlock& trained, const std::vector<data::Game>& games,
                                const SweepOptions& opt) {
  const model::Config& cfg = trained.cfg;
  const int depths = cfg.n_layers + 1;
  const Target targets[2] = {Target::mine_theirs, Target::black_white};
  const Kind kinds[2] = {Kind::linear, Kind::mlp};
  const int n_models = opt.random_control ? 2 : 1;
  const int total = n_models * depths * 4;

  // Labels and the split depend on the games only: computed once.
  std::vector<uint64_t> game_offset;
  std::vector<uint8_t> move;
  column_layout(games, cfg.n_ctx, opt.extract.moves, game_offset, move);
  const Split split = split_by_game(game_offset);
  std::vector<uint8_t> y[2];
  for (int i = 0; i < 2; ++i) y[i] = make_targets(games, game_offset, move, targets[i]);

  // Hooks per extraction pass, so that at most max_memory_gb of activations is held.
  const double bytes_per_hook = double(move.size()) * cfg.d_model * sizeof(float);
  const int group = std::max(1, int(opt.max_memory_gb * 1e9 / std::max(1.0, bytes_per_hook)));

  std::vector<SweepRow> rows;
  int done = 0;
  for (int m = 0; m < n_models; ++m) {
    model::ParamBlock random_params;
    if (m == 1) {
      random_params = model::ParamBlock(cfg);
      model::init_params(random_params, opt.random_model_seed);
    }
    const model::ParamBlock& params = m == 0 ? trained : random_params;
    for (int k0 = 0; k0 < depths; k0 += group) {
      ExtractOptions ex = opt.extract;
      ex.hooks.clear();
      for (int k = k0; k < std::min(depths, k0 + group); ++k) ex.hooks.push_back(depth_hook(k));
      const Activations a = extract_activations(params, games, ex);
      for (int k = k0; k < std::min(depths, k0 + group); ++k) {
        for (int ti = 0; ti < 2; ++ti) {
          for (Kind kind : kinds) {
            TrainOptions to = default_train_options(kind);
            to.seed = opt.seed;
            const double ep = kind == Kind::linear ? opt.max_epochs_linear : opt.max_epochs_mlp;
            if (ep > 0) to.max_epochs = ep;
            if (opt.min_steps >= 0) to.min_steps = opt.min_steps;
            if (opt.probe_batch > 0) to.batch = opt.probe_batch;
            if (opt.eval_every > 0) to.eval_every = opt.eval_every;
            const FitResult f = fit_probe(a, depth_hook(k), y[ti], targets[ti], kind, opt.H, to, split);
            SweepRow row{depth_hook(k), k, targets[ti], kind, m == 1, f.test.accuracy, f.baseline, f.test.cell_accuracy};
            rows.push_back(row);
            if (opt.on_row) opt.on_row(++done, total, row);
          }
        }
      }
    }
  }
  return rows;
}

util::Plot sweep_plot(const std::vector<SweepRow>& rows, const std::string& title) {
  util::Plot plot;
  plot.title = title;
  plot.x_label = "layer (residual stream after k blocks)";
  plot.y_label = "test accuracy";
  plot.y_max = 1.0;
  plot.width = 860;
  plot.height = 460;
  plot.legend_outside = true;  // ten series, the best near the top
  const bool random = std::any_of(rows.begin(), rows.end(), [](const SweepRow& r) { return r.random_model; });
  for (int m = 0; m < (random ? 2 : 1); ++m)
    for (auto t : {Target::mine_theirs, Target::black_white})
      for (auto k : {Kind::linear, Kind::mlp}) {
        util::Series s;
        s.name = std::string(kind_name(k)) + (t == Target::mine_theirs ? " m/t" : " b/w") + (m ? " random" : "");
        s.markers = true;
        for (const auto& r : rows)
          if (r.target == t && r.kind == k && r.random_model == (m == 1)) {
            s.x.push_back(r.layer);
            s.y.push_back(r.accuracy);
          }
        plot.series.push_back(s);
      }
  for (auto t : {Target::mine_theirs, Target::black_white}) {
    util::Series s;
    s.name = std::string("majority ") + (t == Target::mine_theirs ? "m/t" : "b/w");
    for (const auto& r : rows)
      if (r.target == t && r.kind == Kind::linear && !r.random_model) {
        s.x.push_back(r.layer);
        s.y.push_back(r.baseline);
      }
    plot.series.push_back(s);
  }
  return plot;
}

}  // namespace ogpt::probes
