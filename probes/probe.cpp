// Probe math: forward, softmax cross-entropy with gradients, AdamW training with early stopping.
// The matrix products go to OpenBLAS through Armadillo; the per-column softmax and the optimizer
// are plain loops parallelised with OpenMP.
#include "probes/probe.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <dlfcn.h>
#include <omp.h>

#include "util/error.hpp"
#include "util/progress.hpp"

namespace ogpt::probes {

const char* kind_name(Kind k) { return k == Kind::linear ? "linear" : "mlp"; }

const char* target_name(Target t) {
  switch (t) {
    case Target::black_white: return "black-white";
    case Target::mine_theirs: return "mine-theirs";
    case Target::empty: return "empty";
    case Target::flipped: return "flipped";
    case Target::legal: return "legal";
  }
  return "?";
}

Kind parse_kind(const std::string& s) {
  if (s == "linear") return Kind::linear;
  if (s == "mlp") return Kind::mlp;
  throw UserError("unknown probe kind '" + s + "' (choose linear or mlp)", kUsage);
}

Target parse_target(const std::string& s) {
  std::string t = s;
  std::replace(t.begin(), t.end(), '_', '-');
  if (t == "black-white" || t == "bw") return Target::black_white;
  if (t == "mine-theirs" || t == "mt") return Target::mine_theirs;
  if (t == "empty") return Target::empty;
  if (t == "flipped") return Target::flipped;
  if (t == "legal") return Target::legal;
  throw UserError("unknown probe basis '" + s + "' (choose mine-theirs, black-white, empty, flipped or legal)",
                  kUsage);
}

int target_classes(Target t) { return t == Target::black_white || t == Target::mine_theirs ? 3 : 2; }

std::vector<std::string> class_names(Target t) {
  switch (t) {
    case Target::black_white: return {"empty", "black", "white"};
    case Target::mine_theirs: return {"empty", "mine", "theirs"};
    default: return {"no", "yes"};
  }
}

Probe make_probe(Kind kind, Target target, int d, int H, uint64_t seed) {
  if (d <= 0) throw UserError("probe input width must be positive");
  if (kind == Kind::mlp && H <= 0) throw UserError("MLP probe hidden width must be positive");
  Probe p;
  p.kind = kind;
  p.target = target;
  p.d = d;
  p.C = target_classes(target);
  p.H = kind == Kind::mlp ? H : 0;
  // PyTorch nn.Linear-like scale 1/sqrt(fan_in), from our own deterministic generator (arma's
  // global RNG is shared state).
  std::mt19937_64 rng(seed);
  auto fill = [&](arma::fmat& m, int r, int c) {
    std::uniform_real_distribution<float> u(-1.0f / std::sqrt(float(c)), 1.0f / std::sqrt(float(c)));
    m.set_size(r, c);
    for (arma::uword i = 0; i < m.n_elem; ++i) m[i] = u(rng);
  };
  int in = d;
  if (kind == Kind::mlp) {
    fill(p.W1, H, d);
    p.b1.zeros(H);
    in = H;
  }
  fill(p.W, p.rows(), in);
  p.b.zeros(p.rows());
  return p;
}

// ---- threading ------------------------------------------------------------------------------------
// One runtime drives the cores: OpenMP splits the positions (columns) into one slice per thread and
// each thread calls single-threaded OpenBLAS on its slice. Letting OpenBLAS's own pthreads and
// OpenMP's workers both spin on 2 shared cores was measured 5-10x slower (the two pools fight
// for the cores at every hand-over). OpenBLAS is found at run time so that any BLAS still links.
namespace {
using BlasSetThreads = void (*)(int);
using BlasGetThreads = int (*)();
struct BlasSingleThread {
  static inline const BlasSetThreads set =
      reinterpret_cast<BlasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  static inline const BlasGetThreads get =
      reinterpret_cast<BlasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  int saved = 0;
  BlasSingleThread() {
    if (set && get) {
      saved = get();
      set(1);
    }
  }
  ~BlasSingleThread() {
    if (set && saved > 0) set(saved);
  }
};

// A non-owning matrix over columns [a, a+n) of M (no copy).
const arma::fmat cols_view(const arma::fmat& M, arma::uword a, arma::uword n) {
  return arma::fmat(const_cast<float*>(M.colptr(a)), M.n_rows, n, false, true);
}

// Splits [0, N) into slices of at least `min_cols` columns, at most one per thread.
struct Slices {
  arma::uword N, n;
  Slices(arma::uword N_, arma::uword min_cols) : N(N_) {
    const arma::uword by_size = std::max<arma::uword>(1, N_ / min_cols);
    n = std::min<arma::uword>(by_size, arma::uword(std::max(1, omp_get_max_threads())));
  }
  arma::uword begin(arma::uword i) const { return N * i / n; }
  arma::uword end(arma::uword i) const { return N * (i + 1) / n; }
};

// logits [K x n] (and hidden [H x n]) for the columns X (one slice, single-threaded).
void forward_slice(arma::fmat& Z, arma::fmat& h, const Probe& p, const arma::fmat& X) {
  if (p.kind == Kind::linear) {
    Z = p.W * X;  // [K x n]
  } else {
    h = p.W1 * X;  // [H x n]
    h.each_col() += p.b1;
    h.transform([](float v) { return v > 0.0f ? v : 0.0f; });  // ReLU
    Z = p.W * h;
  }
  Z.each_col() += p.b;
}

// Softmax cross-entropy per cell, in place: logits [K x n] become dloss/dlogits (scaled by
// `scale`) when want_grad; returns the summed loss.
double softmax_xent(arma::fmat& Z, const uint8_t* y, int C, float scale, bool want_grad) {
  double total = 0;
  for (arma::uword n = 0; n < Z.n_cols; ++n) {
    float* z = Z.colptr(n);
    const uint8_t* yn = y + n * 64;
    for (int cell = 0; cell < 64; ++cell) {
      float* zc = z + cell * C;
      float m = zc[0];
      for (int k = 1; k < C; ++k) m = std::max(m, zc[k]);
      float s = 0;
      for (int k = 0; k < C; ++k) s += std::exp(zc[k] - m);
      const float log_s = std::log(s);
      total += double(m + log_s - zc[yn[cell]]);
      if (want_grad)
        for (int k = 0; k < C; ++k) zc[k] = scale * (std::exp(zc[k] - m - log_s) - (k == yn[cell] ? 1.0f : 0.0f));
    }
  }
  return total;
}

void check_width(const Probe& p, const arma::fmat& X) {
  if ((int)X.n_rows != p.d)
    throw UserError("probe expects " + std::to_string(p.d) + " features, activations have " +
                    std::to_string(X.n_rows));
}
}  // namespace

// ---- forward, loss, gradients ---------------------------------------------------------------------

void probe_forward(arma::fmat& logits, const Probe& p, const arma::fmat& X, arma::fmat* hidden) {
  check_width(p, X);
  BlasSingleThread one;
  const arma::uword N = X.n_cols;
  logits.set_size(p.rows(), N);
  if (hidden && p.kind == Kind::mlp) hidden->set_size(p.H, N);
  const Slices sl(N, 256);
#pragma omp parallel for schedule(static, 1)
  for (arma::uword i = 0; i < sl.n; ++i) {
    const arma::uword a = sl.begin(i), n = sl.end(i) - a;
    if (n == 0) continue;
    arma::fmat Z, h;
    forward_slice(Z, h, p, cols_view(X, a, n));
    std::copy_n(Z.memptr(), Z.n_elem, logits.colptr(a));
    if (hidden && p.kind == Kind::mlp) std::copy_n(h.memptr(), h.n_elem, hidden->colptr(a));
  }
}

float probe_loss_backward(ProbeGrads& g, const Probe& p, const arma::fmat& X, const uint8_t* y) {
  check_width(p, X);
  BlasSingleThread one;
  const arma::uword N = X.n_cols;
  const float scale = 1.0f / float(N * 64);
  const Slices sl(N, 256);
  std::vector<ProbeGrads> part(sl.n);
  std::vector<double> loss(sl.n, 0.0);
#pragma omp parallel for schedule(static, 1)
  for (arma::uword i = 0; i < sl.n; ++i) {
    const arma::uword a = sl.begin(i), n = sl.end(i) - a;
    ProbeGrads& gi = part[i];
    if (n == 0) continue;
    const arma::fmat Xs = cols_view(X, a, n);
    arma::fmat Z, h;
    forward_slice(Z, h, p, Xs);
    loss[i] = softmax_xent(Z, y + a * 64, p.C, scale, true);  // Z := dloss/dlogits
    const arma::fmat& in = p.kind == Kind::linear ? Xs : h;
    gi.W = Z * in.t();  // [K x in]
    gi.b = arma::sum(Z, 1);
    if (p.kind == Kind::mlp) {
      arma::fmat dh = p.W.t() * Z;  // [H x n]
      dh.elem(arma::find(h <= 0.0f)).zeros();  // ReLU gate (h == 0 exactly where it was cut)
      gi.W1 = dh * Xs.t();  // [H x d]
      gi.b1 = arma::sum(dh, 1);
    }
  }
  g = std::move(part[0]);
  double total = loss[0];
  for (arma::uword i = 1; i < sl.n; ++i) {
    g.W += part[i].W;
    g.b += part[i].b;
    if (p.kind == Kind::mlp) {
      g.W1 += part[i].W1;
      g.b1 += part[i].b1;
    }
    total += loss[i];
  }
  return float(total * scale);
}

float probe_loss(const Probe& p, const arma::fmat& X, const uint8_t* y) {
  check_width(p, X);
  BlasSingleThread one;
  // Fixed-size chunks keep the logits of a large set small.
  const arma::uword N = X.n_cols, chunk = 8192, n_chunks = (N + chunk - 1) / chunk;
  double total = 0;
#pragma omp parallel for schedule(dynamic) reduction(+ : total)
  for (arma::uword c = 0; c < n_chunks; ++c) {
    const arma::uword a = c * chunk, n = std::min(N, a + chunk) - a;
    arma::fmat Z, h;
    forward_slice(Z, h, p, cols_view(X, a, n));
    total += softmax_xent(Z, y + a * 64, p.C, 0, false);
  }
  return N ? float(total / double(N * 64)) : 0.0f;
}

void probe_predict(std::vector<uint8_t>& pred, const Probe& p, const arma::fmat& X) {
  check_width(p, X);
  BlasSingleThread one;
  const arma::uword N = X.n_cols, chunk = 8192, n_chunks = (N + chunk - 1) / chunk;
  pred.assign(N * 64, 0);
#pragma omp parallel for schedule(dynamic)
  for (arma::uword c = 0; c < n_chunks; ++c) {
    const arma::uword a = c * chunk, n = std::min(N, a + chunk) - a;
    arma::fmat Z, h;
    forward_slice(Z, h, p, cols_view(X, a, n));
    for (arma::uword j = 0; j < n; ++j) {
      const float* z = Z.colptr(j);
      for (int cell = 0; cell < 64; ++cell) {
        const float* zc = z + cell * p.C;
        int best = 0;
        for (int k = 1; k < p.C; ++k)
          if (zc[k] > zc[best]) best = k;
        pred[(a + j) * 64 + cell] = uint8_t(best);
      }
    }
  }
}

double probe_loss_reference(const Probe& p, const arma::fmat& X, const uint8_t* y) {
  const int K = p.rows(), N = int(X.n_cols), d = p.d, C = p.C;
  double total = 0;
  std::vector<double> h(p.H), z(K);
  for (int n = 0; n < N; ++n) {
    const float* x = X.colptr(n);
    const float* in = x;
    std::vector<float> hf;
    int width = d;
    if (p.kind == Kind::mlp) {
      hf.resize(p.H);
      for (int i = 0; i < p.H; ++i) {
        double s = p.b1[i];
        for (int j = 0; j < d; ++j) s += double(p.W1(i, j)) * x[j];
        hf[i] = float(std::max(s, 0.0));
      }
      in = hf.data();
      width = p.H;
    }
    for (int k = 0; k < K; ++k) {
      double s = p.b[k];
      for (int j = 0; j < width; ++j) s += double(p.W(k, j)) * in[j];
      z[k] = s;
    }
    for (int cell = 0; cell < 64; ++cell) {
      double m = -1e300, s = 0;
      for (int k = 0; k < C; ++k) m = std::max(m, z[cell * C + k]);
      for (int k = 0; k < C; ++k) s += std::exp(z[cell * C + k] - m);
      total += m + std::log(s) - z[cell * C + y[size_t(n) * 64 + cell]];
    }
  }
  return N ? total / (double(N) * 64) : 0.0;
}

// ---- AdamW ----------------------------------------------------------------------------------------

namespace {
struct Moments {
  arma::fmat m, v;
  void init(const arma::fmat& like) {
    m.zeros(like.n_rows, like.n_cols);
    v.zeros(like.n_rows, like.n_cols);
  }
};

// Decoupled weight decay (Loshchilov & Hutter; PyTorch AdamW): p -= lr*wd*p, then the Adam step.
void adamw_update(float* p, float* m, float* v, const float* g, size_t n, float lr, float wd, float b1,
                  float b2, float eps, uint64_t t) {
  const float c1 = 1.0f - std::pow(b1, float(t)), c2 = 1.0f - std::pow(b2, float(t));
  const float decay = 1.0f - lr * wd;
  // At most a few hundred thousand floats: not worth waking the OpenMP workers.
  for (size_t i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const float mh = m[i] / c1, vh = v[i] / c2;
    p[i] = p[i] * decay - lr * mh / (std::sqrt(vh) + eps);
  }
}
}  // namespace

TrainOptions default_train_options(Kind kind) {
  TrainOptions o;
  if (kind == Kind::mlp) {
    o.lr = 3e-3f;
    o.max_epochs = 8;
  }
  return o;
}

TrainResult train_probe(Probe& p, const arma::fmat& X_train, const uint8_t* y_train, const arma::fmat& X_val,
                        const uint8_t* y_val, const TrainOptions& opt) {
  const arma::uword N = X_train.n_cols;
  if (N == 0) throw UserError("no training positions for the probe");
  const arma::uword B = std::min<arma::uword>(std::max(1, opt.batch), N);
  const uint64_t steps_per_epoch = (N + B - 1) / B;
  const uint64_t total_steps = std::max<uint64_t>(
      {1, uint64_t(std::ceil(opt.max_epochs * double(steps_per_epoch))), uint64_t(std::max(0, opt.min_steps))});
  const uint64_t eval_every = opt.eval_every > 0 ? uint64_t(opt.eval_every) : std::max<uint64_t>(5, total_steps / 20);
  const bool have_val = X_val.n_cols > 0;

  Moments mW, mb, mW1, mb1;
  mW.init(p.W);
  mb.init(p.b);
  if (p.kind == Kind::mlp) {
    mW1.init(p.W1);
    mb1.init(p.b1);
  }
  ProbeGrads g;
  std::mt19937_64 rng(opt.seed);
  std::vector<arma::uword> perm(N);
  std::iota(perm.begin(), perm.end(), 0);
  arma::uvec idx;
  arma::fmat Xb;
  std::vector<uint8_t> yb;

  TrainResult r;
  Probe best = p;
  float best_val = INFINITY;
  int since_best = 0;
  double interval_loss = 0;
  uint64_t interval_n = 0;
  util::Progress bar(opt.label, total_steps, "steps", opt.progress);

  for (uint64_t step = 0; step < total_steps; ++step) {
    const uint64_t pos_in_epoch = step % steps_per_epoch;
    if (pos_in_epoch == 0) std::shuffle(perm.begin(), perm.end(), rng);
    const arma::uword a = pos_in_epoch * B, e = std::min<arma::uword>(N, a + B);
    // Gather the batch (random positions; games were already split, so no leakage).
    idx.set_size(e - a);
    for (arma::uword i = a; i < e; ++i) idx[i - a] = perm[i];
    Xb = X_train.cols(idx);
    yb.resize((e - a) * 64);
    for (arma::uword i = a; i < e; ++i) std::copy_n(y_train + perm[i] * 64, 64, yb.data() + (i - a) * 64);

    const float loss = probe_loss_backward(g, p, Xb, yb.data());
    if (!std::isfinite(loss)) throw UserError("probe training diverged (non-finite loss)", kNonFinite);
    interval_loss += loss;
    ++interval_n;
    const uint64_t t = step + 1;
    adamw_update(p.W.memptr(), mW.m.memptr(), mW.v.memptr(), g.W.memptr(), p.W.n_elem, opt.lr, opt.weight_decay,
                 opt.beta1, opt.beta2, opt.eps, t);
    adamw_update(p.b.memptr(), mb.m.memptr(), mb.v.memptr(), g.b.memptr(), p.b.n_elem, opt.lr, 0, opt.beta1,
                 opt.beta2, opt.eps, t);
    if (p.kind == Kind::mlp) {
      adamw_update(p.W1.memptr(), mW1.m.memptr(), mW1.v.memptr(), g.W1.memptr(), p.W1.n_elem, opt.lr,
                   opt.weight_decay, opt.beta1, opt.beta2, opt.eps, t);
      adamw_update(p.b1.memptr(), mb1.m.memptr(), mb1.v.memptr(), g.b1.memptr(), p.b1.n_elem, opt.lr, 0, opt.beta1,
                   opt.beta2, opt.eps, t);
    }
    r.steps = t;

    const bool last = t == total_steps;
    if (t % eval_every == 0 || last) {
      r.train_loss = float(interval_loss / double(interval_n));
      interval_loss = 0;
      interval_n = 0;
      ++r.checks;
      if (have_val) {
        const float vl = probe_loss(p, X_val, y_val);
        if (vl < best_val) {
          best_val = vl;
          best = p;
          since_best = 0;
        } else if (++since_best >= opt.patience) {
          r.stopped_early = !last;
          break;
        }
      }
      char buf[64];
      std::snprintf(buf, sizeof buf, "loss %.4f", r.train_loss);
      bar.update(t, buf);
    } else if (t % 8 == 0) {
      bar.update(t);
    }
  }
  bar.finish();
  if (have_val) {
    p = std::move(best);
    r.val_loss = best_val;
  }
  r.epochs = double(r.steps) / double(steps_per_epoch);
  return r;
}

}  // namespace ogpt::probes
