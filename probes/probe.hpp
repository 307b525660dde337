#pragma once
// Probes of the residual stream: per-cell classifiers reading one hook point of the model.
//
// Legend: d = features (d_model, or d_mlp for mlp.hook_post), N = positions, C = classes per
// cell (3 for a board basis, 2 for a binary feature), K = 64*C output rows, H = MLP hidden width.
//
// Layouts (Armadillo is column-major, so a position is one contiguous column):
//   X  [d x N]  activations, one column per position
//   y  [N][64]  class of each cell at each position (row-major bytes, position-major)
//   logits [K x N], row k = cell*C + class
//
// Linear probe:  logits = W X + b                     W [K x d], b [K]
// MLP probe:     logits = W relu(W1 X + b1) + b       W1 [H x d], b1 [H], W [K x H], b [K]
// The MLP's hidden layer is SHARED by the 64 cells (one ReLU layer of width H feeding 64*C
// outputs). This is what Li et al.'s code trains (BatteryProbeClassificationTwoLayer: Linear(d,
// 128) -> ReLU -> Linear(128, 3*64)); 64 separate MLPs would cost 64x the hidden-layer FLOPs and
// memory for a probe that is not the object of study. H is configurable (--hidden).
//
// Loss: mean over positions and cells of the softmax cross-entropy over the C classes of a cell.
// Binary features (empty, flipped, legal) use C = 2: a 2-way softmax is exactly a logistic
// regression on the difference of the two logits, so one code path serves both.
#include <armadillo>
#include <cstdint>
#include <string>
#include <vector>

namespace ogpt::probes {

enum class Kind : uint8_t { linear = 0, mlp = 1 };
// What a probe reads out of the residual stream. The board bases use classes 0 empty,
// 1 black|mine, 2 white|theirs (data/labels.hpp); binary features use 0 no, 1 yes.
enum class Target : uint8_t { black_white = 0, mine_theirs = 1, empty = 2, flipped = 3, legal = 4 };

const char* kind_name(Kind k);      // "linear" / "mlp"
const char* target_name(Target t);  // "black-white" / "mine-theirs" / "empty" / "flipped" / "legal"
Kind parse_kind(const std::string& s);      // throws UserError listing the choices
Target parse_target(const std::string& s);  // accepts "mine-theirs", "mine_theirs", "mt", ...
int target_classes(Target t);               // 3 or 2
// Class names for display: {"empty","mine","theirs"}, {"no","yes"}, ...
std::vector<std::string> class_names(Target t);

// What the probe was trained on, kept in the probe file.
struct TrainInfo {
  std::string model;            // model description (Config::describe()) or path
  uint64_t games_train = 0, games_val = 0, games_test = 0;
  uint64_t positions_train = 0;
  uint64_t steps = 0;
  double epochs = 0;
  float val_accuracy = 0, test_accuracy = 0, test_loss = 0;
  uint64_t seed = 0;
  // The token positions it was fitted on, as positions_label writes them ("all", a slice such as
  // "5:54", or a list "5,10,20"): `probe eval` scores on the same ones unless told otherwise.
  // Empty: not recorded (a version-1 file, or a probe not made by fit_probe).
  std::string positions;
};

struct Probe {
  Kind kind = Kind::linear;
  Target target = Target::mine_theirs;
  std::string hook;  // full TransformerLens hook name, e.g. "blocks.5.hook_resid_post"
  int layer = 0;     // residual-stream depth read: the number of blocks applied before the hook
                     // (blocks.{l}.hook_resid_pre -> l; any other blocks.{l}.* hook -> l+1)
  int d = 0;         // input features
  int H = 0;         // hidden width (MLP); 0 for linear
  int C = 3;         // classes per cell
  arma::fmat W1;     // [H x d] (MLP only)
  arma::fvec b1;     // [H]
  arma::fmat W;      // [64*C x d] (linear) or [64*C x H] (MLP)
  arma::fvec b;      // [64*C]
  TrainInfo info;

  int rows() const { return 64 * C; }
};

// A probe with small random weights (zero biases), deterministic for the seed.
Probe make_probe(Kind kind, Target target, int d, int H, uint64_t seed);

// Gradients, same shapes as the probe's parameters.
struct ProbeGrads {
  arma::fmat W1, W;
  arma::fvec b1, b;
};

// logits [K x N] = probe(X). hidden (optional) receives relu(W1 X + b1) [H x N] for the MLP.
void probe_forward(arma::fmat& logits, const Probe& p, const arma::fmat& X, arma::fmat* hidden = nullptr);
// Per-cell argmax: pred [N][64].
void probe_predict(std::vector<uint8_t>& pred, const Probe& p, const arma::fmat& X);
// Mean cross-entropy; fills g (overwritten) with dloss/dparams. y: [N][64] classes < C.
float probe_loss_backward(ProbeGrads& g, const Probe& p, const arma::fmat& X, const uint8_t* y);
// Mean cross-entropy only (no gradients).
float probe_loss(const Probe& p, const arma::fmat& X, const uint8_t* y);
// The slow obvious reference: plain loops in double, for the tests.
double probe_loss_reference(const Probe& p, const arma::fmat& X, const uint8_t* y);

// Mini-batch AdamW with early stopping on a validation set (the best validation loss wins).
struct TrainOptions {
  float lr = 1e-2f;  // Nanda et al.: AdamW lr 1e-2, wd 0.01, betas (0.9, 0.99)
  float weight_decay = 0.01f;
  float beta1 = 0.9f, beta2 = 0.99f, eps = 1e-8f;
  int batch = 4096;          // positions per step
  double max_epochs = 4;     // passes over the training set (fractions allowed)
  int min_steps = 250;       // small sets: more epochs until this many steps (early stopping guards)
  int eval_every = 0;        // steps between validation checks; 0 = about 20 checks in all
  int patience = 5;          // stop after this many checks without a better validation loss
  uint64_t seed = 1;         // batch order
  bool progress = false;     // draw a progress bar
  std::string label = "probe";
};
struct TrainResult {
  uint64_t steps = 0;
  double epochs = 0;
  float train_loss = 0;  // mean over the last checked interval
  float val_loss = 0;    // best
  int checks = 0;
  bool stopped_early = false;
};
// Trains p in place. Weight decay applies to the matrices, not the biases.
TrainResult train_probe(Probe& p, const arma::fmat& X_train, const uint8_t* y_train,
                        const arma::fmat& X_val, const uint8_t* y_val, const TrainOptions& opt);

// Default options for a kind (the MLP wants a smaller learning rate and more epochs).
TrainOptions default_train_options(Kind kind);

}  // namespace ogpt::probes
