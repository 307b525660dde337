#pragma once
// Edits of ONE activation vector x [d] so that a probe reads a chosen state for one cell.
//
// Probe classes (probes/probe.hpp, data/labels.hpp): 0 empty, 1 mine|black, 2 theirs|white;
// row k of the probe's output = cell*3 + class.
//
// Linear edit (Nanda, Lee, Wattenberg 2023), for a linear probe logits = W x + b. Two logit gaps
// of the cell are affine in x:
//   g(x) = (W_1 - W_2) x + (b_1 - b_2)                    mine-minus-theirs ("flip" direction f)
//   h(x) = (W_0 - (W_1+W_2)/2) x + b_0 - (b_1+b_2)/2      empty-minus-occupied ("empty" direction e)
// (the same f and e as probes::get_directions). With u = f/|f|, moving x by delta*u changes g by
// delta*|f| and nothing orthogonal to u. The edit sets the gap to the target side with the
// magnitude it had, times `scale`:
//   to mine/theirs (cell occupied): g' = sigma * max(scale*|g|, margin), sigma = +1 mine, -1 theirs
//                                   x' = x + (g' - g)/|f| * u        (only the component along u)
//   For a cell read as the other colour, g' = -scale*g; when b_1 = b_2 this is exactly the
//   reflection x' = x - (1+scale)(x.u)u (scale = 1: a pure reflection; Nanda's blog used more).
//   Using |g| rather than -g keeps a later layer that already reads the target from being undone,
//   and a gap already on the target side keeps its magnitude (scale applies only to a gap on the
//   other side): otherwise an all-later edit would scale its own push again at every layer.
//   to empty:  h' = max(scale*|h|, margin) (h < 0; h' = max(h, margin) otherwise), x' = x + (h' - h)/|e| * e/|e|
//   empty to mine/theirs: both gaps at once, h' = -max(scale*|h|, margin) and g' as above, by
//   solving the 2x2 system for the steps along e/|e| and u (the two directions are not orthogonal).
//
// Gradient edit (Li et al. 2023): minimise over x
//   L(x) = 1/64 * sum_c w_c * CE(probe(x)_c, y_c),  w = 1 on the edited cell, reg on the others,
// y = the target class on the edited cell and the probe's reading of the unedited x elsewhere,
// with Adam; stops early once the probe gives the target class probability >= stop_prob.
// Only the probe's gradient with respect to its input is needed (probe_input_grad).
#include <cstdint>

#include <armadillo>

#include "probes/probe.hpp"

namespace ogpt::interventions {

// The two logit gaps of one cell of a 3-class linear probe, as affine functions of x.
struct CellGaps {
  arma::fvec f;         // flip direction W_1 - W_2 [d]
  float f_bias = 0;     // b_1 - b_2
  arma::fvec e;         // empty direction W_0 - (W_1 + W_2)/2 [d]
  float e_bias = 0;     // b_0 - (b_1 + b_2)/2
};
CellGaps get_cell_gaps(const probes::Probe& p, int cell);  // throws UserError unless linear, 3 classes

struct LinearEditOptions {
  // 1 = reflection; larger pushes further past the decision boundary. Default 4: on the shipped
  // 8x256 model (3.48M games, 200 cases per set, start layer 4, all later layers) it gave flip
  // errors 0.61 / 0.99 (reachable / unreachable) and erase 0.82 on reachable boards, against
  // 1.01 / 1.45 and 1.44 at scale 1 (null 2.35 / 2.70 / 2.53).
  float scale = 4.0f;
  float margin = 1.0f;  // smallest gap (logits) written, so a cell read at ~0 still moves
};
// Edits x [d] in place so that a linear probe's cell reads target_class. A colour flip moves along
// f only (Nanda et al.'s reflection, scaled); to empty sets the empty gap h past both colours
// (h > |g|/2) and keeps the colour gap g; empty to occupied sets both gaps. The last two move in
// the plane of e and f, since e and f are not orthogonal.
void linear_edit(float* x, const probes::Probe& p, int cell, int target_class, const LinearEditOptions& opt);

// Probe logits [64*C] for one activation x [d].
arma::fvec probe_logits(const probes::Probe& p, const float* x);
// Per-cell argmax of the probe on x: out[64].
void probe_read(uint8_t* out, const probes::Probe& p, const float* x);

// L(x) as above for class targets y[64] and weights w[64]; grad (optional, [d]) = dL/dx;
// logits (optional) = probe_logits(p, x), which the loss computes anyway.
// Linear: dL/dx = W^T dL/dlogits. MLP: dL/dx = W1^T ((W^T dL/dlogits) * [W1 x + b1 > 0]).
double probe_input_loss(const probes::Probe& p, const float* x, const uint8_t* y, const float* w,
                        arma::fvec* grad = nullptr, arma::fvec* logits = nullptr);

struct GradientEditOptions {
  // Adam learning rate, times the RMS of x. Li et al. used 1e-3; here 1e-3 overshoots (flips no
  // better than the null, 50 cases per set), 3e-4 measured best of 1e-3/3e-4/1e-4/3e-5.
  float lr = 3e-4f;
  bool lr_relative = true;  // the step scales with the activation, so it suits any model
  int max_steps = 1000;
  float reg = 0.2f;         // weight of the other 63 cells (Li et al.'s reg_strg)
  float stop_prob = 0.9f;   // stop once p(target class) >= this (> 1 never stops early)
};
struct GradientEditResult {
  int steps = 0;
  float p_target = 0;   // probe's probability of the target class after the edit
  bool reached = false; // the probe's argmax is the target class
};
GradientEditResult gradient_edit(float* x, const probes::Probe& p, int cell, int target_class,
                                 const GradientEditOptions& opt);

}  // namespace ogpt::interventions
