#pragma once
// Muon (Jordan et al. 2024, "Muon: an optimizer for hidden layers"; Liu et al. 2025, "Muon is
// scalable for LLM training") for the hidden weight matrices, AdamW for everything else.
//
// Why here: the default model is trained on two CPU cores, where every game costs. Muon's update
// for a matrix is its momentum orthogonalised (all singular values pushed to ~1), which gets
// more out of each gradient than AdamW's per-element scaling: Liu et al. measure about 2x the
// sample efficiency of AdamW at matched compute. `othello-gpt train --optimizer muon` opts in;
// data/default/ablations/ has the comparison measured on this project's models.
//
// Which parameters: blocks.l.attn.W_Q, W_K, W_V (each as the d_model x n_heads*d_head map from
// the residual stream to all heads), W_O (n_heads*d_head x d_model), mlp.W_in, mlp.W_out. The
// embeddings, unembedding, biases and LayerNorm weights stay on AdamW (as Jordan et al.).
//
// Per Muon matrix W (m x n) with gradient g (scaled by the clipping factor), at lr and weight decay
// wd (the AdamW hyper-parameters: one --lr and one schedule drive both):
//   buf = mu buf + g                          (mu = 0.95; buf lives in AdamWState::m)
//   u   = g + mu buf                          (Nesterov)
//   O   = NS5(u)                              (orthogonalised: U V^T of u = U S V^T, approximately)
//   W   = W (1 - lr wd) - lr * 0.2 sqrt(max(m, n)) * O
// The factor 0.2 sqrt(max(m, n)) gives the update the RMS of a typical AdamW update (Liu et al.),
// so the AdamW learning rate carries over.
//
// NS5 is the quintic Newton-Schulz iteration of Jordan et al. on X = u / |u|_F (wide orientation,
// m <= n; a tall matrix is transposed first): five times X = a X + (b A + c A^2) X with A = X X^T,
// (a, b, c) = (3.4445, -4.7750, 2.0315). Its products run as oneDNN f32 matmuls planned once per
// shape (dnnl_plan.hpp), so the step is deterministic for a thread count, as the AdamW one is.
// Cost: 180 ms a step for 8x256 on two Zen 5 cores (bench_train), against 1.3-1.6 s for the
// forward and backward of 256 games: about 12%, repaid by the games it saves (ablations/).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/adamw.hpp"
#include "model/params.hpp"

namespace ogpt::model {

enum class Optimizer : uint8_t { adamw = 0, muon = 1 };
const char* optimizer_name(Optimizer o);      // "adamw" / "muon"
Optimizer parse_optimizer(const std::string& s);  // throws UserError listing the choices

constexpr double kMuonMomentum = 0.95;
constexpr int kMuonNsSteps = 5;

// Whether a parameter is one of Muon's hidden matrices (see above).
bool is_muon_param(const ParamSpec& spec);

// The matrix Muon sees for a spec: rows x cols (before the wide/tall orientation).
std::pair<int64_t, int64_t> muon_matrix_shape(const ParamSpec& spec);

// NS5 in place on X [m x n] row-major (any orientation): the slow obvious version, in double.
void newton_schulz_reference(float* X, int64_t m, int64_t n, int steps = kMuonNsSteps);

class MuonOptimizer {
 public:
  explicit MuonOptimizer(const Config& cfg);
  ~MuonOptimizer();

  // NS5 in place on X [m x n] row-major, m <= n, with the planned matmuls (a wide shape of one of
  // this config's Muon matrices; anything else is a logic_error).
  void newton_schulz(float* X, int64_t m, int64_t n, int steps = kMuonNsSteps);
  // One step: Muon on the hidden matrices, AdamW (adamw_step's update) on the rest. Increments
  // s.t. The caller must then call gpt.mark_params_changed().
  void step(ParamBlock& p, const ParamBlock& g, AdamWState& s, const AdamWHyper& h, double lr, double grad_scale);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The same step with newton_schulz_reference and plain loops, for the tests.
void muon_step_reference(ParamBlock& p, const ParamBlock& g, AdamWState& s, const AdamWHyper& h, double lr,
                         double grad_scale);

}  // namespace ogpt::model
