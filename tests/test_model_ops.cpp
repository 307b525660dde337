// Every GPT op: fast f32 forward against the double reference (model/ops_ref.hpp), fast backward
// against central finite differences of the double reference, on tiny shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "model/dnnl_plan.hpp"
#include "model/ops.hpp"
#include "model/ops_ref.hpp"

using namespace ogpt::model;

namespace {

std::vector<double> randn(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, scale);
  std::vector<double> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}
std::vector<float> to_f(const std::vector<double>& v) { return {v.begin(), v.end()}; }

// Checks grad (from a fast backward) against d/dx of f(x) (double) by central differences.
// Tolerance: |g - fd| <= tol * (1 + |fd|).
template <class F>
void check_grad(const char* what, std::vector<double>& x, const std::vector<float>& grad, F&& f,
                double tol = 1e-3) {
  REQUIRE(grad.size() == x.size());
  const double eps = 1e-6;
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    double keep = x[i];
    x[i] = keep + eps;
    double up = f();
    x[i] = keep - eps;
    double down = f();
    x[i] = keep;
    double fd = (up - down) / (2 * eps);
    worst = std::max(worst, std::fabs(grad[i] - fd) / (1.0 + std::fabs(fd)));
  }
  INFO(what << ": worst relative gradient error " << worst);
  CHECK(worst < tol);
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("exp, erf and bf16 rounding match their definitions") {
  double worst_exp = 0, worst_erf = 0;
  for (float x = -80.0f; x < 80.0f; x += 0.0137f)
    worst_exp = std::max(worst_exp, std::fabs(ops::exp_approx(x) / std::exp(double(x)) - 1.0));
  for (float x = -6.0f; x < 6.0f; x += 0.001f)
    worst_erf = std::max(worst_erf, std::fabs(ops::erf_approx(x) - std::erf(double(x))));
  CHECK(worst_exp < 2e-7);
  CHECK(worst_erf < 5e-7);
  CHECK(ops::from_bf16(ops::to_bf16(1.0f)) == 1.0f);
  CHECK(ops::from_bf16(ops::to_bf16(1.0f + std::ldexp(1.0f, -8))) == 1.0f);  // tie -> even
  CHECK(ops::from_bf16(ops::to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))) == 1.0f + std::ldexp(1.0f, -6));
  CHECK(ops::from_bf16(ops::to_bf16(-2.5f)) == -2.5f);
  // the vector conversion agrees with the scalar one
  auto v = to_f(randn(1000, 7, 3.0));
  std::vector<ops::bf16_t> out(v.size());
  ops::convert(out.data(), v.data(), v.size());
  for (size_t i = 0; i < v.size(); ++i) REQUIRE(out[i] == ops::to_bf16(v[i]));
}

TEST_CASE("embedding forward and backward") {
  const int B = 2, T = 3, C = 4, V = 5;
  std::vector<uint8_t> tok = {1, 4, 0, 2, 2, 3};
  auto WE = randn(V * C, 1), WP = randn(T * C, 2), R = randn(B * T * C, 3);
  auto ref = [&](std::vector<double>& out) {
    out.resize(B * T * C);
    for (int n = 0; n < B * T; ++n)
      for (int c = 0; c < C; ++c) out[n * C + c] = WE[tok[n] * C + c] + WP[(n % T) * C + c];
  };
  std::vector<float> out(B * T * C), dWE(V * C, 0.0f), dWP(T * C, 0.0f);
  auto fWE = to_f(WE), fWP = to_f(WP), fR = to_f(R);
  ops::embed_forward(out.data(), tok.data(), fWE.data(), fWP.data(), B, T, C);
  std::vector<double> r;
  ref(r);
  CHECK(max_abs_diff(out, r) < 1e-6);
  ops::embed_backward(dWE.data(), dWP.data(), fR.data(), tok.data(), B, T, C);
  auto loss = [&] { std::vector<double> o; ref(o); return dot(o, R); };
  check_grad("W_E", WE, dWE, loss);
  check_grad("W_pos", WP, dWP, loss);
}

TEST_CASE("layernorm forward and backward, with and without weights") {
  const int N = 3, C = 7;
  for (bool affine : {true, false}) {
    auto x = randn(N * C, 11, 2.0), w = randn(C, 12), b = randn(C, 13), R = randn(N * C, 14);
    for (auto& v : x) v += 0.7;  // a non-zero mean
    auto fx = to_f(x), fw = to_f(w), fb = to_f(b), fR = to_f(R);
    const float* pw = affine ? fw.data() : nullptr;
    const float* pb = affine ? fb.data() : nullptr;
    std::vector<float> out(N * C), mean(N), rstd(N);
    ops::layernorm_forward(out.data(), mean.data(), rstd.data(), fx.data(), pw, pb, N, C);
    std::vector<double> r(N * C);
    auto ref = [&] {
      ref::layernorm(r.data(), x.data(), affine ? w.data() : nullptr, affine ? b.data() : nullptr,
                     N, C);
      return dot(r, R);
    };
    ref();
    CHECK(max_abs_diff(out, r) < 1e-5);
    // residual-fused version: resid = x + y, LN(resid)
    std::vector<float> y(N * C, 0.25f), resid(N * C), out2(N * C);
    ops::residual_layernorm_forward(resid.data(), out2.data(), mean.data(), rstd.data(), fx.data(),
                                    y.data(), pw, pb, N, C);
    CHECK(resid[5] == fx[5] + 0.25f);
    CHECK(std::fabs(out2[5] - out[5]) < 1e-5);  // LN is shift invariant
    ops::layernorm_forward(out.data(), mean.data(), rstd.data(), fx.data(), pw, pb, N, C);
    std::vector<float> dx(N * C, 0.5f), dw(C, 0.0f), db(C, 0.0f);
    ops::layernorm_backward(dx.data(), affine ? dw.data() : nullptr, affine ? db.data() : nullptr,
                            fR.data(), fx.data(), pw, mean.data(), rstd.data(), N, C);
    for (auto& v : dx) v -= 0.5f;  // backward adds into dinp
    check_grad("ln x", x, dx, ref);
    if (affine) {
      check_grad("ln w", w, dw, ref);
      check_grad("ln b", b, db, ref);
    }
  }
}

TEST_CASE("causal attention forward (fused and stepwise) and backward") {
  const int B = 2, T = 5, H = 2, D = 4, R3 = 3 * H * D;
  auto qkv = randn(B * T * R3, 21), R = randn(B * T * H * D, 22);
  auto fq = to_f(qkv), fR = to_f(R);
  std::vector<float> z(B * T * H * D), pat(B * H * T * T);
  ops::attention_forward(z.data(), pat.data(), fq.data(), B, T, H, D);
  std::vector<double> rz(z.size()), rp(pat.size());
  ref::attention(rz.data(), rp.data(), qkv.data(), B, T, H, D);
  CHECK(max_abs_diff(z, rz) < 1e-5);
  CHECK(max_abs_diff(pat, rp) < 1e-6);
  // stepwise: scores are masked with -inf, then the same pattern and z
  std::vector<float> sc(pat.size()), z2(z.size());
  ops::attention_scores(sc.data(), fq.data(), B, T, H, D);
  CHECK(std::isinf(sc[1]));
  CHECK(sc[1] < 0);
  CHECK(std::fabs(sc[0] - (fq[0] * fq[H * D] + fq[1] * fq[H * D + 1] + fq[2] * fq[H * D + 2] +
                           fq[3] * fq[H * D + 3]) / 2.0f) < 1e-5);
  ops::attention_softmax(sc.data(), sc.data(), B, T, H);
  ops::attention_values(z2.data(), sc.data(), fq.data(), B, T, H, D);
  CHECK(max_abs_diff(sc, rp) < 1e-6);
  CHECK(max_abs_diff(z2, rz) < 1e-5);
  std::vector<float> dq(qkv.size());
  ops::attention_backward(dq.data(), fR.data(), fq.data(), pat.data(), B, T, H, D);
  check_grad("qkv", qkv, dq, [&] {
    ref::attention(rz.data(), nullptr, qkv.data(), B, T, H, D);
    return dot(rz, R);
  });
}

TEST_CASE("gelu (erf form) forward and backward") {
  const int n = 53;  // not a multiple of 16: exercises the scalar tail
  std::vector<double> x(n);
  for (int i = 0; i < n; ++i) x[i] = -6.0 + 12.0 * i / (n - 1);
  auto R = randn(n, 31);
  auto fx = to_f(x), fR = to_f(R);
  std::vector<float> out(n), dx(n);
  ops::gelu_forward(out.data(), fx.data(), n);
  std::vector<double> r(n);
  for (int i = 0; i < n; ++i) r[i] = ref::gelu(x[i]);
  CHECK(max_abs_diff(out, r) < 2e-6);
  ops::gelu_backward(dx.data(), fR.data(), fx.data(), n);
  check_grad("gelu", x, dx, [&] {
    double s = 0;
    for (int i = 0; i < n; ++i) s += ref::gelu(x[i]) * R[i];
    return s;
  });
  std::vector<ops::bf16_t> ob(n);
  ops::gelu_forward(ob.data(), fx.data(), n);
  for (int i = 0; i < n; ++i) REQUIRE(ob[i] == ops::to_bf16(out[i]));
}

TEST_CASE("cross-entropy ignores padding, its gradient, bias gradient") {
  const int N = 6, V = 7;
  std::vector<uint8_t> tgt = {3, 0, 1, 6, 0, 2};
  auto lg = randn(N * V, 41, 2.0);
  auto flg = to_f(lg);
  int count = 0;
  double sum = ops::crossentropy_forward(flg.data(), tgt.data(), nullptr, N, V, &count);
  CHECK(count == 4);
  CHECK(std::fabs(sum / count - ref::crossentropy(lg.data(), tgt.data(), N, V)) < 1e-5);
  std::vector<float> dl(N * V);
  ops::crossentropy_backward(dl.data(), flg.data(), tgt.data(), nullptr, 1.0f / count, N, V);
  for (int v = 0; v < V; ++v) CHECK(dl[1 * V + v] == 0.0f);
  check_grad("logits", lg, dl, [&] { return ref::crossentropy(lg.data(), tgt.data(), N, V); });
  std::vector<float> db(V, 1.0f);
  ops::bias_backward(db.data(), dl.data(), N, V);
  std::vector<float> db2(V, 1.0f);
  std::vector<ops::bf16_t> dlb(N * V);
  ops::bias_backward(db2.data(), dlb.data(), dl.data(), N, V);  // fused with the bf16 copy
  for (int v = 0; v < V; ++v) {
    double s = 1.0;
    for (int n = 0; n < N; ++n) s += dl[n * V + v];
    CHECK(std::fabs(db[v] - s) < 1e-6);
    CHECK(db2[v] == db[v]);
  }
  for (int i = 0; i < N * V; ++i) REQUIRE(dlb[i] == ops::to_bf16(dl[i]));
}

TEST_CASE("cross-entropy to a target set (the legal-move target): value, gradient, degenerate cases") {
  const int N = 5, V = 7;
  std::vector<uint8_t> tgt = {3, 0, 1, 6, 2};
  // row 0: {1,3,5}; row 1 padding (its set is ignored); row 2: {1} (= one-hot); row 3: all but 0;
  // row 4: empty set -> one-hot(target)
  std::vector<uint64_t> sets = {0b101010, 0b1111, 0b10, 0b1111110, 0};
  auto lg = randn(N * V, 43, 2.0);
  auto flg = to_f(lg);
  int count = 0;
  double sum = ops::crossentropy_forward(flg.data(), tgt.data(), sets.data(), N, V, &count);
  CHECK(count == 4);
  const double want = ref::crossentropy(lg.data(), tgt.data(), N, V, sets.data());
  CHECK(std::fabs(sum / count - want) < 1e-5);
  // a set differs from the one-hot loss unless it is {target}
  CHECK(std::fabs(want - ref::crossentropy(lg.data(), tgt.data(), N, V)) > 1e-3);
  std::vector<float> dl(N * V);
  ops::crossentropy_backward(dl.data(), flg.data(), tgt.data(), sets.data(), 1.0f / count, N, V);
  for (int v = 0; v < V; ++v) CHECK(dl[1 * V + v] == 0.0f);
  double row_sum = 0;  // softmax - q sums to 0 in each row
  for (int v = 0; v < V; ++v) row_sum += dl[0 * V + v];
  CHECK(std::fabs(row_sum) < 1e-6);
  check_grad("logits", lg, dl, [&] { return ref::crossentropy(lg.data(), tgt.data(), N, V, sets.data()); });
}

TEST_CASE("oneDNN matmuls: plain, transposed operands, bias, accumulate, f32 and bf16") {
  const int M = 5, K = 7, N = 3;
  if (!bf16_matmul_supported()) {
    MESSAGE("SKIP the bf16 matmuls: this CPU has no bf16 matmul in oneDNN");
    CHECK_THROWS_AS(Matmul({M, K, N}, true), dnnl::error);  // the probe's answer is the real one
  }
  for (bool bf16 : {false, true})
    for (int variant = 0; variant < 4; ++variant) {
      if (bf16 && !bf16_matmul_supported()) break;
      MatmulShape s{M, K, N, (variant & 1) != 0, (variant & 2) != 0, variant == 0, variant == 3};
      Matmul mm(s, bf16);
      auto a = randn(M * K, 51 + variant), w = randn(K * N, 61 + variant), bias = randn(N, 71);
      if (bf16)  // the reference sees the same rounded inputs
        for (auto* v : {&a, &w})
          for (auto& x : *v) x = ops::from_bf16(ops::to_bf16(static_cast<float>(x)));
      std::vector<double> r(M * N);
      ref::matmul(r.data(), a.data(), w.data(), s.bias ? bias.data() : nullptr, M, K, N);
      // lay the operands out as the shape says
      std::vector<float> fa(M * K), fw(K * N), fb = to_f(bias), c(M * N, s.accumulate ? 1.0f : 0.0f);
      for (int m = 0; m < M; ++m)
        for (int k = 0; k < K; ++k) fa[s.a_trans ? k * M + m : m * K + k] = a[m * K + k];
      for (int k = 0; k < K; ++k)
        for (int n = 0; n < N; ++n) fw[s.b_trans ? n * K + k : k * N + n] = w[k * N + n];
      if (s.accumulate)
        for (auto& x : r) x += 1.0;
      if (bf16) {
        std::vector<ops::bf16_t> ba(fa.size()), bw(fw.size());
        ops::convert(ba.data(), fa.data(), fa.size());
        ops::convert(bw.data(), fw.data(), fw.size());
        mm.run(ba.data(), bw.data(), fb.data(), c.data());
      } else {
        mm.run(fa.data(), fw.data(), fb.data(), c.data());
      }
      INFO("bf16 " << bf16 << " variant " << variant << " impl " << mm.impl());
      CHECK(max_abs_diff(c, r) < 1e-5);
    }
}
