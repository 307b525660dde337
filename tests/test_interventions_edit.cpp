// Edits of one activation against a probe: the linear edit moves x only along the cell's
// direction (orthogonal complement untouched) and makes the probe read the target; the probe's
// input gradient matches finite differences; the gradient edit drives the reading to the target.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "interventions/edit.hpp"

using namespace ogpt::interventions;
using ogpt::probes::Kind;
using ogpt::probes::Probe;
using ogpt::probes::Target;

namespace {

std::vector<float> random_x(int d, uint64_t seed, float sd = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, sd);
  std::vector<float> x(d);
  for (float& v : x) v = n(rng);
  return x;
}

int read_cell(const Probe& p, const std::vector<float>& x, int cell) {
  uint8_t y[64];
  probe_read(y, p, x.data());
  return y[cell];
}

double gap(const arma::fvec& dir, float bias, const std::vector<float>& x) {
  double s = bias;
  for (size_t i = 0; i < x.size(); ++i) s += double(dir[i]) * x[i];
  return s;
}

// A linear probe with biases, so the edit must account for them.
Probe biased_linear(int d, uint64_t seed) {
  Probe p = ogpt::probes::make_probe(Kind::linear, Target::mine_theirs, d, 0, seed);
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<float> n(0.0f, 0.3f);
  for (arma::uword i = 0; i < p.b.n_elem; ++i) p.b[i] = n(rng);
  return p;
}

}  // namespace

TEST_CASE("linear edit: a flip changes only the component along the flip direction") {
  const int d = 48;
  const Probe p = biased_linear(d, 5);
  int tested = 0;
  for (int cell = 0; cell < 64; ++cell) {
    std::vector<float> x = random_x(d, 100 + cell, 2.0f);
    const int now = read_cell(p, x, cell);
    if (now == 0) continue;  // flips are of occupied cells
    const int target = now == 1 ? 2 : 1;
    const CellGaps gp = get_cell_gaps(p, cell);
    const double g0 = gap(gp.f, gp.f_bias, x);
    for (float scale : {1.0f, 3.0f}) {
      std::vector<float> y = x;
      LinearEditOptions opt;
      opt.scale = scale;
      opt.margin = 0.0f;
      linear_edit(y.data(), p, cell, target, opt);
      // The gap is mirrored (times scale) ...
      CHECK(gap(gp.f, gp.f_bias, y) == doctest::Approx(-scale * g0).epsilon(1e-3));
      // ... and the change is parallel to f: the residual after removing its f-component is ~0.
      const arma::fvec dx = arma::fvec(std::vector<float>(y.begin(), y.end())) - arma::fvec(x);
      const arma::fvec u = gp.f / arma::norm(gp.f);
      const arma::fvec perp = dx - arma::dot(dx, u) * u;
      CHECK(arma::norm(perp) <= 1e-4 * (1 + arma::norm(dx)));
      CHECK(arma::norm(dx) > 0);
    }
    ++tested;
  }
  CHECK(tested >= 16);
}

TEST_CASE("linear edit: with zero biases scale s is the reflection x - (1+s)(x.u)u") {
  const int d = 32;
  Probe p = ogpt::probes::make_probe(Kind::linear, Target::mine_theirs, d, 0, 9);
  p.b.zeros();
  const std::vector<float> x = random_x(d, 3);
  int cell = 0;
  while (read_cell(p, x, cell) == 0) ++cell;  // an occupied reading: a pure colour flip
  REQUIRE(cell < 64);
  const CellGaps gp = get_cell_gaps(p, cell);
  const arma::fvec u = gp.f / arma::norm(gp.f);
  const double xu = gap(u, 0, x);
  const int target = xu > 0 ? 2 : 1;  // the other side
  std::vector<float> y = x;
  LinearEditOptions opt;
  opt.scale = 2.0f;
  opt.margin = 0.0f;
  linear_edit(y.data(), p, cell, target, opt);
  for (int i = 0; i < d; ++i) CHECK(y[i] == doctest::Approx(x[i] - 3.0 * xu * u[i]).epsilon(1e-4));
}

TEST_CASE("linear edit: erase sets the empty gap and keeps the colour gap, empty to occupied sets both") {
  const int d = 40;
  const Probe p = biased_linear(d, 21);
  int erased = 0, filled = 0;
  for (int cell = 0; cell < 64; ++cell) {
    std::vector<float> x = random_x(d, 500 + cell, 2.0f);
    const int now = read_cell(p, x, cell);
    const CellGaps gp = get_cell_gaps(p, cell);
    LinearEditOptions opt;
    opt.scale = 2.0f;
    std::vector<float> y = x;
    if (now != 0) {
      linear_edit(y.data(), p, cell, 0, opt);
      const double h0 = gap(gp.e, gp.e_bias, x);  // scaled only from the occupied side (h0 < 0)
      const double g0 = gap(gp.f, gp.f_bias, x);  // and at least |g|/2 + margin, so empty wins
      CHECK(gap(gp.e, gp.e_bias, y) ==
            doctest::Approx(std::max({h0 < 0 ? -2.0 * h0 : h0, 1.0, std::fabs(g0) / 2 + 1.0})).epsilon(1e-3));
      CHECK(read_cell(p, y, cell) == 0);
      CHECK(gap(gp.f, gp.f_bias, y) == doctest::Approx(g0).epsilon(1e-3).scale(1e-3));
      // the move lies in the plane of e and f: nothing of it is orthogonal to both
      const arma::fvec dx = arma::fvec(std::vector<float>(y.begin(), y.end())) - arma::fvec(x);
      const arma::fmat Q = arma::orth(arma::join_rows(gp.e, gp.f));
      CHECK(arma::norm(dx - Q * (Q.t() * dx)) <= 1e-4 * (1 + arma::norm(dx)));
      ++erased;
    } else {
      linear_edit(y.data(), p, cell, 2, opt);
      CHECK(gap(gp.e, gp.e_bias, y) < 0);  // occupied
      CHECK(gap(gp.f, gp.f_bias, y) < 0);  // theirs
      CHECK(read_cell(p, y, cell) == 2);
      ++filled;
    }
  }
  CHECK(erased > 0);
  CHECK(filled > 0);
}

TEST_CASE("linear edit: erasing a confident colour reads empty, not merely a positive empty gap") {
  // Logits like (0, 4, -6): the empty gap h = z0 - (z1 + z2)/2 = 1 is already positive, yet the
  // cell reads mine; an erase must lift h past |g|/2 (g = z1 - z2 = 10), along e only.
  const int d = 40;
  const Probe p = biased_linear(d, 33);
  int tested = 0;
  for (int cell = 0; cell < 64; ++cell) {
    std::vector<float> x = random_x(d, 900 + cell, 2.0f);
    const CellGaps gp = get_cell_gaps(p, cell);
    const double nf2 = arma::dot(gp.f, gp.f), ne2 = arma::dot(gp.e, gp.e);
    // Set the gaps to h = 1, g = +-10 exactly: x += a f/|f|^2 + b e/|e|^2 solves a 2x2 system.
    const double ef = arma::dot(gp.e, gp.f);
    const double sign = cell % 2 ? 1.0 : -1.0;
    const double rg = 10.0 * sign - gap(gp.f, gp.f_bias, x), rh = 1.0 - gap(gp.e, gp.e_bias, x);
    // [1, ef/ne2; ef/nf2, 1] [a; b] = [rg; rh]
    const double det = 1.0 - ef * ef / (ne2 * nf2);
    const double a = (rg - ef / ne2 * rh) / det, b = (rh - ef / nf2 * rg) / det;
    for (int i = 0; i < d; ++i) x[i] += static_cast<float>(a * gp.f[i] / nf2 + b * gp.e[i] / ne2);
    REQUIRE(gap(gp.e, gp.e_bias, x) == doctest::Approx(1.0).epsilon(1e-3));
    REQUIRE(read_cell(p, x, cell) == (sign > 0 ? 1 : 2));
    std::vector<float> y = x;
    LinearEditOptions opt;
    linear_edit(y.data(), p, cell, 0, opt);
    CHECK(read_cell(p, y, cell) == 0);
    CHECK(gap(gp.e, gp.e_bias, y) == doctest::Approx(5.0 + opt.margin).epsilon(1e-3));
    CHECK(gap(gp.f, gp.f_bias, y) == doctest::Approx(10.0 * sign).epsilon(1e-3));  // colour gap kept
    ++tested;
  }
  CHECK(tested == 64);
}

TEST_CASE("probe input gradient matches central finite differences (linear and MLP)") {
  const int d = 24;
  for (Kind kind : {Kind::linear, Kind::mlp}) {
    CAPTURE(ogpt::probes::kind_name(kind));
    Probe p = ogpt::probes::make_probe(kind, Target::mine_theirs, d, 16, 13);
    std::mt19937_64 rng(2);
    for (arma::uword i = 0; i < p.b.n_elem; ++i) p.b[i] = std::normal_distribution<float>(0, 0.2f)(rng);
    if (kind == Kind::mlp)
      for (arma::uword i = 0; i < p.b1.n_elem; ++i) p.b1[i] = std::normal_distribution<float>(0, 0.2f)(rng);
    std::vector<float> x = random_x(d, 77);
    uint8_t y[64];
    float w[64];
    for (int c = 0; c < 64; ++c) {
      y[c] = static_cast<uint8_t>(c % 3);
      w[c] = c == 10 ? 1.0f : 0.2f;
    }
    arma::fvec g;
    probe_input_loss(p, x.data(), y, w, &g);
    REQUIRE(g.n_elem == static_cast<arma::uword>(d));
    double max_err = 0, max_g = 0;
    for (int i = 0; i < d; ++i) {
      const float h = 1e-2f;
      std::vector<float> a = x, b = x;
      a[i] += h;
      b[i] -= h;
      const double fd = (probe_input_loss(p, a.data(), y, w) - probe_input_loss(p, b.data(), y, w)) / (2.0 * h);
      max_err = std::max(max_err, std::fabs(fd - g[i]));
      max_g = std::max(max_g, std::fabs(double(g[i])));
    }
    CHECK(max_g > 1e-4);
    CHECK(max_err <= 2e-3 * max_g + 1e-6);
  }
}

TEST_CASE("gradient edit drives the MLP probe's reading of the cell to the target") {
  // Wide enough (d, H > 2 gaps x 64 cells) that every cell can be set independently, as in a
  // trained probe of a 512-wide residual stream; a narrow random probe has conflicting cells.
  const int d = 256;
  const Probe p = ogpt::probes::make_probe(Kind::mlp, Target::mine_theirs, d, 256, 4);
  GradientEditOptions opt;
  opt.lr = 3e-2f;
  opt.max_steps = 3000;
  int moved_others = 0, total_others = 0;
  for (int cell : {0, 27, 45, 63}) {
    std::vector<float> x = random_x(d, 900 + cell);
    uint8_t before[64];
    probe_read(before, p, x.data());
    const int target = (before[cell] + 1) % 3;
    const GradientEditResult r = gradient_edit(x.data(), p, cell, target, opt);
    CHECK(r.reached);
    CHECK(r.p_target >= opt.stop_prob);
    CHECK(r.steps > 0);
    CHECK(read_cell(p, x, cell) == target);
    uint8_t after[64];
    probe_read(after, p, x.data());
    for (int c = 0; c < 64; ++c)
      if (c != cell) moved_others += after[c] != before[c], ++total_others;
  }
  // The regulariser keeps most other cells where they were.
  CHECK(moved_others <= total_others / 4);
}

TEST_CASE("linear edit: a second edit to the same target leaves x as it is (no compounding over layers)") {
  // An all-later edit writes at layer L and again at every later layer, where the probe already
  // reads the pushed cell: a scale > 1 must not multiply the gap again at each of them.
  const int d = 40;
  const Probe p = biased_linear(d, 33);
  int tested = 0;
  for (int cell = 0; cell < 64; ++cell) {
    const std::vector<float> x = random_x(d, 900 + cell, 2.0f);
    const int now = read_cell(p, x, cell);
    LinearEditOptions opt;
    opt.scale = 4.0f;
    for (int target : {0, 1, 2}) {
      if (target == now) continue;
      std::vector<float> y = x;
      linear_edit(y.data(), p, cell, target, opt);
      if (read_cell(p, y, cell) != target) continue;  // the other gap can still win: not this test
      std::vector<float> z = y;
      linear_edit(z.data(), p, cell, target, opt);
      for (int i = 0; i < d; ++i) CHECK(z[i] == doctest::Approx(y[i]).epsilon(1e-4).scale(1e-3));
      ++tested;
    }
  }
  CHECK(tested >= 64);
}
