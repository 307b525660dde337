// Probe math on synthetic data where the answer is known, plus a gradient check of the loss.
#include <doctest/doctest.h>

#include <cmath>

#include "probes/metrics.hpp"
#include "probes/probe.hpp"
#include "probes/synthetic.hpp"

using namespace ogpt::probes;

namespace {

// Trains on the first n_train columns, validates on the next n_val, returns test accuracy on the rest.
double fit_and_score(Kind kind, const arma::fmat& X, const std::vector<uint8_t>& y, size_t n_train, size_t n_val,
                     int H = 128, double epochs = 0, float lr = 0, int batch = 1024) {
  Probe p = make_probe(kind, Target::mine_theirs, int(X.n_rows), H, 7);
  TrainOptions opt = default_train_options(kind);
  if (epochs > 0) opt.max_epochs = epochs;
  if (lr > 0) opt.lr = lr;
  opt.batch = batch;
  opt.min_steps = 0;
  train_probe(p, X.cols(0, n_train - 1), y.data(), X.cols(n_train, n_train + n_val - 1), y.data() + n_train * 64, opt);
  const size_t n_test = X.n_cols - n_train - n_val;
  std::vector<uint8_t> pred;
  const arma::fmat Xt = X.cols(n_train + n_val, X.n_cols - 1);
  probe_predict(pred, p, Xt);
  return compute_metrics(pred.data(), y.data() + (n_train + n_val) * 64, nullptr, n_test, 3).accuracy;
}

}  // namespace

TEST_CASE("linear probe reads the mine/theirs basis but not black/white, the MLP reads both") {
  const SyntheticBoards s = make_synthetic_boards(26000, 256, 0.1f, 11);
  const double lin_mt = fit_and_score(Kind::linear, s.X, s.mine_theirs, 20000, 3000);
  const double lin_bw = fit_and_score(Kind::linear, s.X, s.black_white, 20000, 3000);
  const double mlp_bw = fit_and_score(Kind::mlp, s.X, s.black_white, 20000, 3000, 256, 16, 1e-2f, 512);
  MESSAGE("synthetic: linear mine/theirs " << lin_mt << ", linear black/white " << lin_bw << ", MLP black/white "
                                           << mlp_bw);
  CHECK(lin_mt >= 0.99);
  // Black/white is mine/theirs XOR colour: the best linear read is empties + chance on discs,
  // 1/3 + 2/3 * 1/2 = 0.667.
  CHECK(lin_bw < 0.75);
  // 64 XORs (cell x colour) need a few ReLUs each: H = 256 learns them in ~600 steps at lr 1e-2.
  CHECK(mlp_bw >= 0.95);
}

TEST_CASE("probe loss: fast path matches the double reference, gradients match finite differences") {
  for (Kind kind : {Kind::linear, Kind::mlp}) {
    for (Target target : {Target::mine_theirs, Target::legal}) {
      const int d = 6, H = 5, N = 4;
      Probe p = make_probe(kind, target, d, H, 3);
      arma::arma_rng::set_seed(5);
      p.b.randn();  // nonzero biases so that their gradients are exercised
      if (kind == Kind::mlp) p.b1 = arma::randn<arma::fvec>(H) * 0.3f;
      arma::fmat X = arma::randn<arma::fmat>(d, N);
      std::vector<uint8_t> y(N * 64);
      for (size_t i = 0; i < y.size(); ++i) y[i] = uint8_t((i * 7 + i / 5) % p.C);

      ProbeGrads g;
      const float loss = probe_loss_backward(g, p, X, y.data());
      CHECK(loss == doctest::Approx(probe_loss_reference(p, X, y.data())).epsilon(1e-5));
      CHECK(probe_loss(p, X, y.data()) == doctest::Approx(loss).epsilon(1e-6));

      auto check = [&](arma::fmat& param, const arma::fmat& grad, const char* name) {
        double worst = 0;
        for (arma::uword i = 0; i < param.n_elem; ++i) {
          const float keep = param[i], eps = 1e-2f;
          param[i] = keep + eps;
          const double lp = probe_loss_reference(p, X, y.data());
          param[i] = keep - eps;
          const double lm = probe_loss_reference(p, X, y.data());
          param[i] = keep;
          const double fd = (lp - lm) / (2.0 * eps);
          worst = std::max(worst, std::abs(fd - grad[i]) / (1e-4 + std::abs(fd)));
        }
        INFO(kind_name(kind) << " " << target_name(target) << " " << name);
        CHECK(worst < 2e-2);
      };
      check(p.W, g.W, "W");
      check(static_cast<arma::fmat&>(p.b), g.b, "b");
      if (kind == Kind::mlp) {
        check(p.W1, g.W1, "W1");
        check(static_cast<arma::fmat&>(p.b1), g.b1, "b1");
      }
    }
  }
}

TEST_CASE("metrics: accuracy, per-cell, per-class, per-move, F1 and the majority baseline") {
  // Two positions; position 0 all right, position 1 wrong on cells 0..15.
  std::vector<uint8_t> y(128, 0), pred(128, 0);
  for (int c = 0; c < 64; ++c) y[c] = y[64 + c] = pred[c] = pred[64 + c] = uint8_t(c % 2);
  for (int c = 0; c < 16; ++c) pred[64 + c] = uint8_t(1 - y[64 + c]);
  const uint8_t move[2] = {3, 4};
  const Metrics m = compute_metrics(pred.data(), y.data(), move, 2, 2);
  CHECK(m.accuracy == doctest::Approx(112.0 / 128));
  CHECK(m.cell_accuracy[0] == doctest::Approx(0.5));
  CHECK(m.cell_accuracy[20] == doctest::Approx(1.0));
  CHECK(m.move_accuracy[3] == doctest::Approx(1.0));
  CHECK(m.move_accuracy[4] == doctest::Approx(48.0 / 64));
  CHECK(std::isnan(m.move_accuracy[5]));
  CHECK(m.class_accuracy[0] == doctest::Approx(56.0 / 64));
  // Class 1 positive: tp = 64 - 8, fn = 8, fp = 8.
  CHECK(m.precision == doctest::Approx(56.0 / 64));
  CHECK(m.f1 == doctest::Approx(56.0 / 64));

  std::vector<uint8_t> z(3 * 64, 2);
  z[0] = 1;
  z[64] = 1;
  const auto maj = majority_classes(z.data(), 3, 3);
  CHECK(maj[0] == 1);
  CHECK(maj[1] == 2);
  CHECK(majority_accuracy(maj, z.data(), 3) == doctest::Approx(191.0 / 192));
}
