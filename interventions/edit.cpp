#include "interventions/edit.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/error.hpp"

namespace ogpt::interventions {

CellGaps get_cell_gaps(const probes::Probe& p, int cell) {
  if (p.kind != probes::Kind::linear || p.C != 3)
    throw UserError(std::string("a linear edit needs a linear probe of a board basis (this one is ") +
                    probes::kind_name(p.kind) + " " + probes::target_name(p.target) + ")");
  const arma::uword r = static_cast<arma::uword>(cell) * 3;
  CellGaps g;
  g.f = (p.W.row(r + 1) - p.W.row(r + 2)).t();
  g.e = (p.W.row(r + 0) - 0.5f * (p.W.row(r + 1) + p.W.row(r + 2))).t();
  const bool has_b = p.b.n_elem == p.W.n_rows;
  g.f_bias = has_b ? p.b[r + 1] - p.b[r + 2] : 0.0f;
  g.e_bias = has_b ? p.b[r + 0] - 0.5f * (p.b[r + 1] + p.b[r + 2]) : 0.0f;
  return g;
}

namespace {

double dot(const arma::fvec& a, const float* x) {
  double s = 0;
  for (arma::uword i = 0; i < a.n_elem; ++i) s += double(a[i]) * x[i];
  return s;
}

void axpy(float* x, double alpha, const arma::fvec& a) {
  for (arma::uword i = 0; i < a.n_elem; ++i) x[i] += static_cast<float>(alpha * a[i]);
}

}  // namespace

void linear_edit(float* x, const probes::Probe& p, int cell, int target_class, const LinearEditOptions& opt) {
  const CellGaps gp = get_cell_gaps(p, cell);
  const double nf = arma::norm(gp.f), ne = arma::norm(gp.e);
  if (nf == 0 || ne == 0) throw UserError("the probe's direction for cell " + std::to_string(cell) + " is zero");
  const double g = dot(gp.f, x) + gp.f_bias;
  const double h = dot(gp.e, x) + gp.e_bias;
  const double m = opt.margin;
  // The new magnitude of a gap whose target sign is sigma: scale x |gap| when the gap is on the
  // other side, |gap| when it already reads the target (at least the margin either way). Scaling
  // a gap that already reads the target would compound over the later layers of an all-later
  // edit (each layer's probe reads the push of the layer before and would scale it again).
  auto target_gap = [&](double gap, double sigma) {
    const double s = sigma * gap < 0 ? opt.scale : 1.0;
    return sigma * std::max(s * std::fabs(gap), m);
  };
  // x' = x + a*e/|e| + b*f/|f| with h(x') = h2 and g(x') = g2 (e and f are not orthogonal, so
  // moving along one alone would change the other gap as well):
  //   [ |e|        e.f/|f| ] [a]   [h2 - h]
  //   [ f.e/|e|    |f|     ] [b] = [g2 - g]
  auto set_gaps = [&](double h2, double g2) {
    const double ef = arma::dot(gp.e, gp.f);
    const double a11 = ne, a12 = ef / nf, a21 = ef / ne, a22 = nf;
    const double det = a11 * a22 - a12 * a21;
    if (std::fabs(det) < 1e-12 * ne * nf) {  // parallel directions: fall back to one after the other
      axpy(x, (h2 - h) / (ne * ne), gp.e);
      const double g1 = dot(gp.f, x) + gp.f_bias;
      axpy(x, (g2 - g1) / (nf * nf), gp.f);
      return;
    }
    const double rh = h2 - h, rg = g2 - g;
    const double a = (rh * a22 - a12 * rg) / det;
    const double b = (a11 * rg - a21 * rh) / det;
    axpy(x, a / ne, gp.e);
    axpy(x, b / nf, gp.f);
  };
  if (target_class == 0) {  // to empty: the empty gap moves, the colour gap is kept
    // The probe reads empty when z0 beats both colours: z0 - z1 = h - g/2 and z0 - z2 = h + g/2,
    // so h > |g|/2, not merely h > 0 (a confident colour, e.g. logits (0, 4, -6), has h = 1 but
    // g = 10). Hence the floor |g|/2 + margin.
    set_gaps(std::max(target_gap(h, +1.0), std::fabs(g) / 2 + m), g);
    return;
  }
  const double sigma = target_class == 1 ? 1.0 : -1.0;
  const double g2 = target_gap(g, sigma);
  // Does the probe read the cell as empty now? Then make it occupied as well.
  const arma::fvec logits = probe_logits(p, x);
  const arma::uword r = static_cast<arma::uword>(cell) * 3;
  const bool reads_empty = logits[r] >= logits[r + 1] && logits[r] >= logits[r + 2];
  if (!reads_empty) {  // a colour change: move along u = f/|f| only
    axpy(x, (g2 - g) / (nf * nf), gp.f);
    return;
  }
  set_gaps(target_gap(h, -1.0), g2);
}

arma::fvec probe_logits(const probes::Probe& p, const float* x) {
  const arma::fvec xv(const_cast<float*>(x), static_cast<arma::uword>(p.d), false, true);
  if (p.kind == probes::Kind::linear) return p.W * xv + p.b;
  arma::fvec hid = p.W1 * xv + p.b1;
  hid.transform([](float v) { return v > 0 ? v : 0.0f; });
  return p.W * hid + p.b;
}

void probe_read(uint8_t* out, const probes::Probe& p, const float* x) {
  const arma::fvec z = probe_logits(p, x);
  for (int c = 0; c < 64; ++c) {
    int best = 0;
    for (int k = 1; k < p.C; ++k)
      if (z[c * p.C + k] > z[c * p.C + best]) best = k;
    out[c] = static_cast<uint8_t>(best);
  }
}

double probe_input_loss(const probes::Probe& p, const float* x, const uint8_t* y, const float* w, arma::fvec* grad,
                        arma::fvec* logits) {
  const arma::fvec xv(const_cast<float*>(x), static_cast<arma::uword>(p.d), false, true);
  arma::fvec pre, hid, z;
  if (p.kind == probes::Kind::linear) {
    z = p.W * xv + p.b;
  } else {
    pre = p.W1 * xv + p.b1;
    hid = pre;
    hid.transform([](float v) { return v > 0 ? v : 0.0f; });
    z = p.W * hid + p.b;
  }
  const int C = p.C;
  double loss = 0;
  arma::fvec dz(z.n_elem);
  for (int c = 0; c < 64; ++c) {
    const float* zc = z.memptr() + c * C;
    float mx = zc[0];
    for (int k = 1; k < C; ++k) mx = std::max(mx, zc[k]);
    double sum = 0;
    for (int k = 0; k < C; ++k) sum += std::exp(double(zc[k]) - mx);
    const double lse = mx + std::log(sum);
    loss += w[c] * (lse - zc[y[c]]) / 64.0;
    for (int k = 0; k < C; ++k) {
      const double pk = std::exp(double(zc[k]) - lse);
      dz[c * C + k] = static_cast<float>(w[c] * (pk - (k == y[c] ? 1.0 : 0.0)) / 64.0);
    }
  }
  if (grad) {
    if (p.kind == probes::Kind::linear) {
      *grad = p.W.t() * dz;
    } else {
      arma::fvec dh = p.W.t() * dz;
      for (arma::uword i = 0; i < dh.n_elem; ++i)
        if (pre[i] <= 0) dh[i] = 0;
      *grad = p.W1.t() * dh;
    }
  }
  if (logits) *logits = std::move(z);
  return loss;
}

GradientEditResult gradient_edit(float* x, const probes::Probe& p, int cell, int target_class,
                                 const GradientEditOptions& opt) {
  if (p.C != 3) throw UserError("a board edit needs a probe of a board basis (3 classes)");
  uint8_t y[64];
  probe_read(y, p, x);
  y[cell] = static_cast<uint8_t>(target_class);
  float w[64];
  std::fill(w, w + 64, opt.reg);
  w[cell] = 1.0f;
  const arma::uword d = static_cast<arma::uword>(p.d);
  double ms = 0;
  for (arma::uword i = 0; i < d; ++i) ms += double(x[i]) * x[i];
  const float lr = opt.lr_relative ? opt.lr * static_cast<float>(std::sqrt(ms / d)) : opt.lr;
  const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;  // Adam defaults (PyTorch), as Li et al.
  arma::fvec m(d, arma::fill::zeros), v(d, arma::fill::zeros), g;
  // p(target class) from the probe's logits of the cell.
  auto p_target = [&](const arma::fvec& z) {
    const float* zc = z.memptr() + cell * 3;
    const float mx = std::max({zc[0], zc[1], zc[2]});
    double s = 0;
    for (int k = 0; k < 3; ++k) s += std::exp(double(zc[k]) - mx);
    return static_cast<float>(std::exp(double(zc[target_class]) - mx) / s);
  };
  GradientEditResult res;
  // One probe forward per step: the loss evaluation at x gives both the gradient for the next
  // step and the logits for the stopping test (the last gradient goes unused).
  arma::fvec z;
  probe_input_loss(p, x, y, w, &g, &z);
  float pt = p_target(z);
  double b1t = 1, b2t = 1;
  while (res.steps < opt.max_steps && pt < opt.stop_prob) {
    b1t *= b1;
    b2t *= b2;
    for (arma::uword i = 0; i < d; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double mh = m[i] / (1 - b1t), vh = v[i] / (1 - b2t);
      x[i] -= static_cast<float>(lr * mh / (std::sqrt(vh) + eps));
    }
    ++res.steps;
    probe_input_loss(p, x, y, w, &g, &z);
    pt = p_target(z);
  }
  uint8_t now[64];
  probe_read(now, p, x);
  res.p_target = pt;
  res.reached = now[cell] == target_class;
  return res;
}

}  // namespace ogpt::interventions
