#include "model/muon.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>

#include "model/dnnl_plan.hpp"
#include "util/error.hpp"

namespace ogpt::model {

namespace {
constexpr double kA = 3.4445, kB = -4.7750, kC = 2.0315;  // Jordan et al.'s quintic coefficients
constexpr double kNormEps = 1e-7;
constexpr double kRmsMatch = 0.2;  // Liu et al.: 0.2 sqrt(max(m, n)) matches AdamW's update RMS

bool is_head_input(const ParamSpec& spec) {  // W_Q, W_K, W_V: [h, d, dh]
  const std::string& n = spec.name;
  return n.ends_with("attn.W_Q") || n.ends_with("attn.W_K") || n.ends_with("attn.W_V");
}
bool not_muon(const ParamSpec& spec) { return !is_muon_param(spec); }

// Flat index into the spec's storage of element (r, c) of its Muon matrix.
struct MatrixView {
  int64_t rows = 0, cols = 0;
  int64_t d = 0, dh = 0;  // head inputs: (r, hh*dh + j) lives at (hh*d + r)*dh + j
  bool head_input = false;
  explicit MatrixView(const ParamSpec& spec) {
    std::tie(rows, cols) = muon_matrix_shape(spec);
    head_input = is_head_input(spec);
    if (head_input) {
      d = spec.shape[1];
      dh = spec.shape[2];
    }
  }
  int64_t at(int64_t r, int64_t c) const {
    if (!head_input) return r * cols + c;
    return ((c / dh) * d + r) * dh + c % dh;
  }
};

// The Muon update of one matrix: momentum (in M), Nesterov look-ahead into X (wide orientation),
// orthogonalise with `ns`, apply decay and the scaled step to P.
template <class NS>
void muon_matrix(float* P, float* M, const float* G, const ParamSpec& spec, const AdamWHyper& h, double lr,
                 double grad_scale, std::vector<float>& X, NS&& ns) {
  const MatrixView v(spec);
  const bool tall = v.rows > v.cols;
  const int64_t m = tall ? v.cols : v.rows, n = tall ? v.rows : v.cols;
  X.resize(static_cast<size_t>(m * n));
  const float mu = static_cast<float>(kMuonMomentum), gs = static_cast<float>(grad_scale);
  // element-wise (each (r, c) its own k and X slot): any thread split gives the same bits
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < v.rows; ++r)
    for (int64_t c = 0; c < v.cols; ++c) {
      const int64_t k = v.at(r, c);
      const float g = G[k] * gs;
      M[k] = std::fma(mu, M[k], g);
      X[tall ? c * n + r : r * n + c] = std::fma(mu, M[k], g);
    }
  ns(X.data(), m, n);
  const float keep = spec.decay ? static_cast<float>(1.0 - lr * h.weight_decay) : 1.0f;
  const float step = static_cast<float>(-lr * kRmsMatch * std::sqrt(static_cast<double>(n)));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < v.rows; ++r)
    for (int64_t c = 0; c < v.cols; ++c) {
      const int64_t k = v.at(r, c);
      P[k] = std::fma(step, X[tall ? c * n + r : r * n + c], P[k] * keep);
    }
}

double frobenius(const float* X, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(X[i]) * X[i];
  return std::sqrt(s);
}
}  // namespace

const char* optimizer_name(Optimizer o) { return o == Optimizer::muon ? "muon" : "adamw"; }

Optimizer parse_optimizer(const std::string& s) {
  if (s == "adamw") return Optimizer::adamw;
  if (s == "muon") return Optimizer::muon;
  throw UserError("unknown optimizer '" + s + "' (choose adamw or muon)", kUsage);
}

bool is_muon_param(const ParamSpec& spec) {
  const std::string& n = spec.name;
  return is_head_input(spec) || n.ends_with("attn.W_O") || n.ends_with("mlp.W_in") || n.ends_with("mlp.W_out");
}

std::pair<int64_t, int64_t> muon_matrix_shape(const ParamSpec& spec) {
  const auto& s = spec.shape;
  if (is_head_input(spec)) return {s[1], s[0] * s[2]};              // [h,d,dh] -> d x h*dh
  if (s.size() == 3) return {s[0] * s[1], s[2]};                    // W_O [h,dh,d] -> h*dh x d
  if (s.size() == 2) return {s[0], s[1]};
  throw std::logic_error("muon: " + spec.name + " is not a matrix");
}

void newton_schulz_reference(float* Xf, int64_t m, int64_t n, int steps) {
  if (m > n) {  // work on the wide transpose
    std::vector<float> T(static_cast<size_t>(m * n));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) T[j * m + i] = Xf[i * n + j];
    newton_schulz_reference(T.data(), n, m, steps);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) Xf[i * n + j] = T[j * m + i];
    return;
  }
  std::vector<double> X(Xf, Xf + m * n), A(m * m), B(m * m), Y(m * n);
  const double scale = 1.0 / (frobenius(Xf, static_cast<size_t>(m * n)) + kNormEps);
  for (double& x : X) x *= scale;
  for (int s = 0; s < steps; ++s) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double a = 0;
        for (int64_t k = 0; k < n; ++k) a += X[i * n + k] * X[j * n + k];
        A[i * m + j] = a;
      }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double aa = 0;
        for (int64_t k = 0; k < m; ++k) aa += A[i * m + k] * A[k * m + j];
        B[i * m + j] = kB * A[i * m + j] + kC * aa;
      }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double y = 0;
        for (int64_t k = 0; k < m; ++k) y += B[i * m + k] * X[k * n + j];
        Y[i * n + j] = kA * X[i * n + j] + y;
      }
    X.swap(Y);
  }
  for (int64_t i = 0; i < m * n; ++i) Xf[i] = static_cast<float>(X[i]);
}

struct MuonOptimizer::Impl {
  std::map<std::pair<int64_t, int64_t>, NewtonSchulzPlan> plans;  // by (m, n), m <= n
  std::vector<float> X, A, A2, Y;
};

MuonOptimizer::MuonOptimizer(const Config& cfg) : impl_(std::make_unique<Impl>()) {
  // Plan once: every wide shape the config's Muon matrices take.
  for (const ParamSpec& spec : param_specs(cfg)) {
    if (!is_muon_param(spec)) continue;
    auto [r, c] = muon_matrix_shape(spec);
    const auto key = std::make_pair(std::min(r, c), std::max(r, c));
    if (!impl_->plans.count(key)) impl_->plans.emplace(key, make_newton_schulz_plan(key.first, key.second));
  }
}
MuonOptimizer::~MuonOptimizer() = default;

void MuonOptimizer::newton_schulz(float* X, int64_t m, int64_t n, int steps) {
  auto it = impl_->plans.find({m, n});
  if (it == impl_->plans.end())
    throw std::logic_error("muon: no Newton-Schulz plan for " + std::to_string(m) + "x" + std::to_string(n));
  const NewtonSchulzPlan& p = it->second;
  auto& A = impl_->A;
  auto& A2 = impl_->A2;
  auto& Y = impl_->Y;
  A.resize(static_cast<size_t>(m * m));
  A2.resize(A.size());
  Y.resize(static_cast<size_t>(m * n));
  const size_t mn = static_cast<size_t>(m * n);
  const float scale = static_cast<float>(1.0 / (frobenius(X, mn) + kNormEps));
  for (size_t i = 0; i < mn; ++i) X[i] *= scale;
  const float a = static_cast<float>(kA), b = static_cast<float>(kB), c = static_cast<float>(kC);
  for (int s = 0; s < steps; ++s) {
    p.xxt.run(X, X, nullptr, A.data());
    p.aa.run(A.data(), A.data(), nullptr, A2.data());
    for (size_t i = 0; i < A.size(); ++i) A[i] = std::fma(b, A[i], c * A2[i]);  // B, in place of A
    p.bx.run(A.data(), X, nullptr, Y.data());
#pragma omp parallel for schedule(static) if (mn > 65536)
    for (size_t i = 0; i < mn; ++i) X[i] = std::fma(a, X[i], Y[i]);
  }
}

void MuonOptimizer::step(ParamBlock& p, const ParamBlock& g, AdamWState& s, const AdamWHyper& h, double lr,
                         double grad_scale) {
  adamw_step(p, g, s, h, lr, grad_scale, not_muon);  // checks the layout, increments s.t
  auto ns = [this](float* X, int64_t m, int64_t n) { newton_schulz(X, m, n); };
  for (const ParamSpec& spec : p.specs)
    if (is_muon_param(spec))
      muon_matrix(p.data.data() + spec.offset, s.m.data() + spec.offset, g.data.data() + spec.offset, spec, h, lr,
                  grad_scale, impl_->X, ns);
}

void muon_step_reference(ParamBlock& p, const ParamBlock& g, AdamWState& s, const AdamWHyper& h, double lr,
                         double grad_scale) {
  adamw_step_reference(p, g, s, h, lr, grad_scale, not_muon);
  std::vector<float> X;
  auto ns = [](float* X, int64_t m, int64_t n) { newton_schulz_reference(X, m, n); };
  for (const ParamSpec& spec : p.specs)
    if (is_muon_param(spec))
      muon_matrix(p.data.data() + spec.offset, s.m.data() + spec.offset, g.data.data() + spec.offset, spec, h, lr,
                  grad_scale, X, ns);
}

}  // namespace ogpt::model
