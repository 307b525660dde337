#pragma once
// The probe experiments the CLI runs: fit one probe on extracted activations (split by game,
// early stopping on validation, metrics on test, the majority baseline), and the layer sweep
// (every residual-stream depth x both bases x both kinds, trained model and random control).
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/game.hpp"
#include "model/params.hpp"
#include "probes/activations.hpp"
#include "probes/metrics.hpp"
#include "probes/probe.hpp"
#include "util/svg_plot.hpp"

namespace ogpt::probes {

struct FitResult {
  Probe probe;
  TrainResult train;
  Metrics test;             // on the test games
  double val_accuracy = 0;
  double baseline = 0;      // per-cell majority class (learnt on the training games), on the test games
};

// Trains a probe of `kind` for `target` on a.at(hook) with the split; fills probe.hook/layer/info.
FitResult fit_probe(const Activations& a, const std::string& hook, const std::vector<uint8_t>& y, Target target,
                    Kind kind, int H, const TrainOptions& opt, const Split& split);

// Metrics of a probe on columns [begin, end) of X with labels y (all columns: y [P][64]).
Metrics evaluate_probe(const Probe& p, const arma::fmat& X, const std::vector<uint8_t>& y,
                       const std::vector<uint8_t>& move, uint64_t begin, uint64_t end);

// Residual-stream depth k = 0..n_layers: k = 0 is the embeddings (blocks.0.hook_resid_pre),
// k >= 1 is blocks.{k-1}.hook_resid_post (the stream after k blocks).
std::string depth_hook(int k);

struct SweepRow {
  std::string hook;
  int layer = 0;  // depth k as above
  Target target = Target::mine_theirs;
  Kind kind = Kind::linear;
  bool random_model = false;
  double accuracy = 0;
  double baseline = 0;
  std::array<double, 64> cell_accuracy{};  // per-cell test accuracy (for board pictures)
};

struct SweepOptions {
  int H = 128;
  uint64_t seed = 1;
  uint64_t random_model_seed = 12345;  // model::init_params seed of the control model
  bool random_control = true;
  double max_memory_gb = 4.0;          // activations held at once (hooks are extracted in groups)
  ExtractOptions extract;              // batch, precision, positions (hooks are set by the sweep)
  double max_epochs_linear = 0, max_epochs_mlp = 0;  // 0: defaults
  int min_steps = -1;                  // < 0: the default TrainOptions::min_steps (small budgets lower it)
  int probe_batch = 0;                 // positions per probe step; 0: the default
  int eval_every = 0;                  // probe steps between validation checks; 0: the default (~20 checks)
  // Called after each probe with (probes done, probes total, the row).
  std::function<void(int, int, const SweepRow&)> on_row;
};

std::vector<SweepRow> run_sweep(const model::ParamBlock& trained, const std::vector<data::Game>& games,
                                const SweepOptions& opt);

// The linear representation hypothesis in one picture: test accuracy vs layer, one line per
// basis x kind x model (trained, and random when the rows have it), plus the majority baselines.
// Render with util::render_svg.
util::Plot sweep_plot(const std::vector<SweepRow>& rows, const std::string& title);

}  // namespace ogpt::probes
