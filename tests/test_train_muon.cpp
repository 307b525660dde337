// Muon against its slow obvious version and against what it is for: the Newton-Schulz output is
// nearly orthogonal, the hidden matrices get an update of AdamW's RMS, the rest is AdamW's step.
#include <doctest/doctest.h>

#include <armadillo>
#include <cmath>
#include <functional>
#include <random>
#include <set>

#include "model/muon.hpp"
#include "util/error.hpp"

using namespace ogpt;
using namespace ogpt::model;

namespace {
Config tiny() {  // d_model 16 != n_heads * d_head 24: the head maps are not square
  Config c;
  c.n_layers = 2;
  c.d_model = 16;
  c.n_heads = 3;
  c.d_head = 8;
  c.d_mlp = 40;
  return c;
}
void fill_random(float* x, size_t n, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  for (size_t i = 0; i < n; ++i) x[i] = d(rng);
}
// Singular values of X [m x n] row-major.
arma::vec singular_values(const std::vector<float>& X, int64_t m, int64_t n) {
  arma::mat A(n, m);  // column-major view of the row-major data is X^T: same singular values
  for (int64_t i = 0; i < m * n; ++i) A[i] = X[i];
  return arma::svd(A);
}
}  // namespace

TEST_CASE("train muon: the hidden matrices, their shapes, and the optimizer names") {
  const Config c = tiny();
  std::set<std::string> muon;
  for (const ParamSpec& s : param_specs(c))
    if (is_muon_param(s)) muon.insert(s.name);
  CHECK(muon == std::set<std::string>{"blocks.0.attn.W_Q", "blocks.0.attn.W_K", "blocks.0.attn.W_V",
                                      "blocks.0.attn.W_O", "blocks.0.mlp.W_in", "blocks.0.mlp.W_out",
                                      "blocks.1.attn.W_Q", "blocks.1.attn.W_K", "blocks.1.attn.W_V",
                                      "blocks.1.attn.W_O", "blocks.1.mlp.W_in", "blocks.1.mlp.W_out"});
  const auto specs = param_specs(c);
  CHECK(muon_matrix_shape(*find_spec(specs, "blocks.0.attn.W_Q")) == std::make_pair<int64_t, int64_t>(16, 24));
  CHECK(muon_matrix_shape(*find_spec(specs, "blocks.0.attn.W_O")) == std::make_pair<int64_t, int64_t>(24, 16));
  CHECK(muon_matrix_shape(*find_spec(specs, "blocks.1.mlp.W_out")) == std::make_pair<int64_t, int64_t>(40, 16));
  CHECK(parse_optimizer("muon") == Optimizer::muon);
  CHECK(std::string(optimizer_name(parse_optimizer("adamw"))) == "adamw");
  CHECK_THROWS_AS(parse_optimizer("sgd"), UserError);
}

TEST_CASE("train muon: Newton-Schulz pushes every singular value near 1, fast equals the reference") {
  const Config c = tiny();
  MuonOptimizer opt(c);
  for (auto [m, n] : {std::pair<int64_t, int64_t>{16, 24}, {16, 40}}) {
    CAPTURE(m);
    CAPTURE(n);
    std::vector<float> X(static_cast<size_t>(m * n));
    fill_random(X.data(), X.size(), 11 + m + n, 1.0f);
    // an ill-conditioned input: one direction 100x the others (what a momentum matrix looks like)
    for (int64_t j = 0; j < n; ++j) X[j] *= 100.0f;
    const arma::vec s0 = singular_values(X, m, n);
    REQUIRE(s0.max() / s0.min() > 50);
    std::vector<float> ref = X, fast = X;
    newton_schulz_reference(ref.data(), m, n);
    opt.newton_schulz(fast.data(), m, n);
    double max_diff = 0;
    for (size_t i = 0; i < X.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(ref[i] - fast[i])));
    CHECK(max_diff < 1e-4);
    // Jordan et al.'s coefficients trade exactness for speed: singular values land in ~[0.7, 1.2].
    const arma::vec s = singular_values(fast, m, n);
    CHECK(s.min() > 0.5);
    CHECK(s.max() < 1.3);
    // the reference also takes a tall matrix (it works on the transpose): same singular values
    std::vector<float> T(X.size());
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) T[j * m + i] = X[i * n + j];
    newton_schulz_reference(T.data(), n, m);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) REQUIRE(T[j * m + i] == doctest::Approx(ref[i * n + j]).epsilon(1e-6));
  }
  std::vector<float> X(24 * 16);
  CHECK_THROWS_AS(opt.newton_schulz(X.data(), 24, 16), std::logic_error);  // tall: not planned
}

TEST_CASE("train muon: a step equals the reference, moves hidden matrices by AdamW's RMS, the rest as AdamW") {
  const Config c = tiny();
  ParamBlock p(c), g(c);
  fill_random(p.data.data(), p.data.size(), 5, 0.3f);
  AdamWHyper h;
  h.weight_decay = 0.1;
  ParamBlock pr = p, pa = p;
  AdamWState s, sr, sa;
  MuonOptimizer opt(c);
  const double lr = 1e-2;
  for (int step = 0; step < 3; ++step) {
    fill_random(g.data.data(), g.data.size(), 100 + step, 1e-2f);
    ParamBlock before = p;
    opt.step(p, g, s, h, lr, 0.5);
    muon_step_reference(pr, g, sr, h, lr, 0.5);
    adamw_step(pa, g, sa, h, lr, 0.5);
    CHECK(s.t == step + 1);
    for (const ParamSpec& spec : p.specs) {
      CAPTURE(spec.name);
      double max_diff = 0, sq = 0;
      for (size_t k = 0; k < spec.numel; ++k) {
        const size_t i = spec.offset + k;
        max_diff = std::max(max_diff, double(std::fabs(p.data[i] - pr.data[i])));
        const double u = (double(p.data[i]) - before.data[i] * (1 - lr * h.weight_decay)) / lr;
        sq += u * u;
      }
      CHECK(max_diff < 1e-6);
      if (is_muon_param(spec)) {
        // an orthogonal m x n matrix has RMS 1/sqrt(max(m, n)); scaled by 0.2 sqrt(max(m, n)) the
        // update's RMS is 0.2 (AdamW's typical), times the singular values' spread ~[0.7, 1.2]
        const double rms = std::sqrt(sq / double(spec.numel));
        CHECK(rms > 0.6 * 0.2);
        CHECK(rms < 1.3 * 0.2);
      } else {
        // not a Muon matrix: exactly AdamW's step
        for (size_t k = 0; k < spec.numel; ++k) REQUIRE(p.data[spec.offset + k] == pa.data[spec.offset + k]);
      }
    }
  }
}

TEST_CASE("train muon: three steps equal an independent Muon in double (momentum, Nesterov, clipping scale, decay, head layout)") {
  // Written from the formula in muon.hpp, sharing only newton_schulz_reference (checked above by
  // its singular values) with the optimizer: muon_step_reference shares the momentum, Nesterov and
  // scaling code with the fast step, so this is what catches a wrong buffer or scale. The index
  // maps are the layouts TransformerLens gives these weights.
  const Config c = tiny();
  ParamBlock p(c), g(c);
  fill_random(p.data.data(), p.data.size(), 9, 0.3f);
  AdamWHyper h;
  h.weight_decay = 0.1;
  AdamWState s;
  MuonOptimizer opt(c);
  const int64_t d = c.d_model, H = c.n_heads, dh = c.d_head, dm = c.d_mlp;
  struct Ref {
    std::string name;
    int64_t rows, cols;
    std::function<int64_t(int64_t, int64_t)> at;  // (row, col) of Muon's matrix -> index in the tensor
    std::vector<double> W, buf;
  };
  std::vector<Ref> refs = {
      // W_Q [H, d, dh] seen as the d x (H dh) map from the residual stream to every head
      {"blocks.1.attn.W_Q", d, H * dh, [&](int64_t r, int64_t col) { return (col / dh) * d * dh + r * dh + col % dh; }, {}, {}},
      // W_O [H, dh, d] seen as (H dh) x d: tall, so orthogonalised as its transpose
      {"blocks.0.attn.W_O", H * dh, d, [&](int64_t r, int64_t col) { return r * d + col; }, {}, {}},
      {"blocks.0.mlp.W_in", d, dm, [&](int64_t r, int64_t col) { return r * dm + col; }, {}, {}},
      {"blocks.1.mlp.W_out", dm, d, [&](int64_t r, int64_t col) { return r * d + col; }, {}, {}}};
  for (Ref& r : refs) {
    const float* w = p.get(r.name);
    r.W.resize(size_t(r.rows * r.cols));
    r.buf.assign(r.W.size(), 0.0);
    for (int64_t i = 0; i < r.rows; ++i)
      for (int64_t j = 0; j < r.cols; ++j) r.W[size_t(i * r.cols + j)] = w[r.at(i, j)];
  }
  const double scales[3] = {1.0, 0.5, 0.25}, mu = 0.95;
  for (int t = 0; t < 3; ++t) {
    fill_random(g.data.data(), g.data.size(), 200 + t, 1e-2f);
    const double lr = 1e-2 * (t + 1);
    opt.step(p, g, s, h, lr, scales[t]);
    for (Ref& r : refs) {
      const float* gr = g.get(r.name);
      std::vector<float> u(r.W.size());
      for (int64_t i = 0; i < r.rows; ++i)
        for (int64_t j = 0; j < r.cols; ++j) {
          const size_t k = size_t(i * r.cols + j);
          const double gi = double(gr[r.at(i, j)]) * scales[t];
          r.buf[k] = mu * r.buf[k] + gi;
          u[k] = float(gi + mu * r.buf[k]);
        }
      newton_schulz_reference(u.data(), r.rows, r.cols);
      const double step = lr * 0.2 * std::sqrt(double(std::max(r.rows, r.cols)));
      for (size_t k = 0; k < r.W.size(); ++k) r.W[k] = r.W[k] * (1 - lr * h.weight_decay) - step * u[k];
    }
  }
  for (const Ref& r : refs) {
    CAPTURE(r.name);
    const float* w = p.get(r.name);
    double max_diff = 0;
    for (int64_t i = 0; i < r.rows; ++i)
      for (int64_t j = 0; j < r.cols; ++j)
        max_diff = std::max(max_diff, std::fabs(double(w[r.at(i, j)]) - r.W[size_t(i * r.cols + j)]));
    // the updates are ~2e-3 to 6e-3 per element; float rounding and the f32 matmuls stay near 1e-6
    CHECK(max_diff < 2e-5);
  }
}
