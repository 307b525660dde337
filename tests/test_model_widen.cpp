// Widening (model/widen.hpp): the wider model computes the narrow one's logits, its extra copies
// are not identical (so training can pull them apart), its new units get gradients, and shapes
// that are not a widening are refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "model/checkpoint.hpp"
#include "model/config.hpp"
#include "model/gpt.hpp"
#include "model/widen.hpp"
#include "tests/cli_run.hpp"
#include "tests/temp_dir.hpp"
#include "util/error.hpp"

using namespace ogpt::model;

namespace {

Config shape(int d_model, int d_head, int d_mlp, bool ln = true, bool ub = true) {
  Config c;
  c.n_layers = 2;
  c.d_model = d_model;
  c.n_heads = 2;
  c.d_head = d_head;
  c.d_mlp = d_mlp;
  c.n_ctx = 7;
  c.has_ln_weights = ln;
  c.has_unembed_bias = ub;
  return c;
}

// Every parameter random and not small (LN weights near 1, non-zero biases), so a weight the
// widening drops or misplaces shows in the logits.
ParamBlock random_params(const Config& c, uint64_t seed) {
  ParamBlock p(c);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& s : p.specs) {
    bool ln_w = s.name.ends_with(".w");
    for (size_t i = 0; i < s.numel; ++i) p.data[s.offset + i] = ln_w ? 1.0f + 0.2f * nd(rng) : 0.3f * nd(rng);
  }
  return p;
}

struct Run {
  std::vector<float> logits;
  float loss;
  std::unique_ptr<GPT> gpt;  // kept for a backward pass
};

Run run(const ParamBlock& p, const std::vector<uint8_t>& tok, const std::vector<uint8_t>& tgt, int B) {
  Run r;
  r.gpt = std::make_unique<GPT>(p.cfg, B, Precision::f32);
  r.gpt->params = p;
  r.gpt->mark_params_changed();
  r.loss = r.gpt->forward(tok.data(), tgt.data(), B);
  r.logits.assign(r.gpt->logits(), r.gpt->logits() + size_t(B) * p.cfg.n_ctx * p.cfg.d_vocab);
  return r;
}

void tokens(std::vector<uint8_t>& tok, std::vector<uint8_t>& tgt, int B, int T, uint64_t seed) {
  std::mt19937_64 rng(seed);
  tok.resize(B * T);
  tgt.resize(B * T);
  for (int i = 0; i < B * T; ++i) {
    tok[i] = static_cast<uint8_t>(1 + rng() % 60);
    tgt[i] = static_cast<uint8_t>(1 + rng() % 60);
  }
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

}  // namespace

TEST_CASE("widen: the wider model computes the same logits (residual x2 and x3, wider heads and MLP)") {
  const int B = 3;
  std::vector<uint8_t> tok, tgt;
  tokens(tok, tgt, B, 7, 5);
  struct Case { Config from, to; };
  for (bool ln : {true, false})
    for (bool ub : {true, false})
    for (const Case& k : {Case{shape(16, 8, 32, ln, ub), shape(32, 16, 64, ln, ub)},   // the 8x256 -> 8x512 pattern
                          Case{shape(16, 8, 32, ln, ub), shape(48, 8, 32, ln, ub)},    // residual only, three copies
                          Case{shape(16, 8, 32, ln, ub), shape(16, 12, 40, ln, ub)}})  // heads and MLP only
      for (float noise : {0.0f, 0.05f}) {
        CAPTURE(k.to.d_model);
        CAPTURE(k.to.d_head);
        CAPTURE(ln);
        CAPTURE(ub);
        CAPTURE(noise);
        ParamBlock narrow = random_params(k.from, 11);
        ParamBlock wide = widen_params(narrow, k.to, noise, 3);
        CHECK(wide.cfg == k.to);
        Run a = run(narrow, tok, tgt, B), b = run(wide, tok, tgt, B);
        double scale = 0;
        for (float x : a.logits) scale = std::max(scale, double(std::fabs(x)));
        REQUIRE(scale > 0.5);  // the logits are not trivially small
        CHECK(max_abs_diff(a.logits, b.logits) < 1e-4 * scale);
        CHECK(std::fabs(a.loss - b.loss) < 1e-4);
      }
}

TEST_CASE("widen: with noise the residual copies read with different weights, without it copy 0 holds it all") {
  Config from = shape(16, 8, 32), to = shape(32, 16, 64);
  ParamBlock narrow = random_params(from, 2);
  ParamBlock noisy = widen_params(narrow, to, 0.05f, 9), exact = widen_params(narrow, to, 0.0f, 9);
  const float* Wi = noisy.w.blocks[1].W_in;  // [d', dm']: row i and row 16 + i read the same input
  int differ = 0;
  for (int i = 0; i < 16; ++i)
    for (int m = 0; m < 32; ++m) {
      differ += Wi[i * 64 + m] != Wi[(16 + i) * 64 + m];
      // the two copies sum to the narrow weight
      CHECK(Wi[i * 64 + m] + Wi[(16 + i) * 64 + m] == doctest::Approx(narrow.w.blocks[1].W_in[i * 32 + m]).epsilon(1e-5));
      CHECK(exact.w.blocks[1].W_in[(16 + i) * 64 + m] == 0.0f);
    }
  CHECK(differ == 16 * 32);
  // Writers copy: the embedding's second copy equals its first.
  for (int v = 0; v < 61; ++v)
    for (int i = 0; i < 16; ++i) REQUIRE(noisy.w.W_E[v * 32 + 16 + i] == narrow.w.W_E[v * 16 + i]);
  // Biases: b_K (which softmax would hide from the logits) keeps its old entries, new ones 0;
  // b_Q is scaled with the queries.
  const float q_scale = std::sqrt(16.0f / 8.0f);
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 16; ++j) {
      CHECK(noisy.w.blocks[0].b_K[h * 16 + j] == (j < 8 ? narrow.w.blocks[0].b_K[h * 8 + j] : 0.0f));
      CHECK(noisy.w.blocks[0].b_Q[h * 16 + j] ==
            doctest::Approx(j < 8 ? narrow.w.blocks[0].b_Q[h * 8 + j] * q_scale : 0.0f));
    }
  // Same seed, same widening; another seed, other noise.
  ParamBlock again = widen_params(narrow, to, 0.05f, 9), other = widen_params(narrow, to, 0.05f, 10);
  CHECK(again.data == noisy.data);
  CHECK(other.data != noisy.data);
}

TEST_CASE("widen: the new neurons and head dims get gradients (training can use them)") {
  Config from = shape(16, 8, 32), to = shape(32, 16, 64);
  const int B = 2;
  std::vector<uint8_t> tok, tgt;
  tokens(tok, tgt, B, 7, 8);
  ParamBlock wide = widen_params(random_params(from, 4), to, 0.05f, 1);
  Run r = run(wide, tok, tgt, B);
  GPT* g = r.gpt.get();
  g->zero_grad();
  g->forward(tok.data(), tgt.data(), B);
  g->backward();
  const BlockWeights& G = g->grads.w.blocks[0];
  double new_out = 0, new_o = 0, new_k = 0;
  for (int m = 32; m < 64; ++m)
    for (int i = 0; i < 32; ++i) new_out += std::fabs(G.W_out[m * 32 + i]);  // new neurons' writes
  for (int h = 0; h < 2; ++h)
    for (int j = 8; j < 16; ++j)
      for (int i = 0; i < 32; ++i) {
        new_o += std::fabs(G.W_O[(h * 16 + j) * 32 + i]);  // new value dims' writes
        new_k += std::fabs(G.W_K[(h * 32 + i) * 16 + j]);  // new key dims (start at 0)
      }
  CHECK(new_out > 1e-4);
  CHECK(new_o > 1e-4);
  CHECK(new_k > 1e-6);
}

TEST_CASE("widen: shapes that are not a widening are refused by name") {
  Config from = shape(16, 8, 32);
  auto refused = [&](Config to, const char* says) {
    CAPTURE(says);
    try {
      check_widening(from, to);
      FAIL("accepted");
    } catch (const ogpt::UserError& e) {
      CHECK(e.code == ogpt::kUsage);
      CHECK(std::string(e.what()).find(says) != std::string::npos);
    }
  };
  Config c = shape(24, 8, 32);
  refused(c, "whole multiple of 16");
  c = shape(32, 4, 32);
  refused(c, "d_head cannot shrink");
  c = shape(32, 8, 16);
  refused(c, "d_mlp cannot shrink");
  c = shape(32, 8, 32);
  c.n_layers = 3;
  refused(c, "depth is not widened");
  c = shape(32, 8, 32);
  c.n_heads = 4;
  refused(c, "head count");
  c = shape(32, 8, 32, false);
  refused(c, "LayerNorm weights");
  refused(from, "has that shape already");
  CHECK_NOTHROW(check_widening(from, shape(32, 8, 32)));
  CHECK(widening_problem(from, shape(32, 8, 32)).empty());
}

TEST_CASE("cli: widen the shipped 8x256 to 8x512, load it as 8x512, refuse bad shapes and inputs") {
  ogpt::test::TempDir t("widen_cli");
  const std::string shipped = std::string(OGPT_SOURCE_DIR) + "/data/default";
  int rc = -1;
  const std::string out = t.str("w.ckpt");
  std::string text = ogpt::test::run_cli("widen --model " + shipped + " --preset 8x512 --out " + out +
                                             " --check-games 8 --json", &rc);
  REQUIRE(rc == 0);
  auto j = nlohmann::json::parse(text);
  CHECK(j["parameters_to"].get<size_t>() == param_count(preset("8x512")));
  CHECK(j["check"]["positions"].get<int>() > 8 * 40);
  CHECK(j["check"]["top1_agreement"].get<double>() >= 0.99);
  CHECK(j["check"]["max_abs_logit_diff"].get<double>() < 1e-2);
  LoadedCheckpoint w = load_checkpoint(out);
  CHECK(w.params.cfg == preset("8x512"));
  CHECK(w.dtype == WeightDtype::f32);  // bf16 would round the split copies apart

  // 8x384: 384 is not a whole multiple of 256; nothing is written
  text = ogpt::test::run_cli("widen --model " + shipped + " --preset 8x384 --out " + t.str("x.ckpt"), &rc, true);
  CHECK(rc == 2);
  CHECK(text.find("whole multiple of 256") != std::string::npos);
  CHECK(text.find("--model " + shipped + "/model.ckpt: cannot widen") != std::string::npos);
  CHECK(text.find("internal error") == std::string::npos);
  CHECK(!std::filesystem::exists(t.str("x.ckpt")));
  // a noise that is not a finite number in [0, 1]
  for (const char* bad : {"nan", "-0.1", "2"}) {
    text = ogpt::test::run_cli("widen --model " + shipped + " --noise " + bad + " --out " + t.str("x.ckpt"), &rc, true);
    CHECK(rc == 2);
    CHECK(text.find("--noise must be in [0, 1]") != std::string::npos);
  }
  CHECK(!std::filesystem::exists(t.str("x.ckpt")));
  // the output may not be the input
  text = ogpt::test::run_cli("widen --model " + out + " --preset 8x512 --out " + out, &rc, true);
  CHECK(rc == 2);
  CHECK(text.find("is the input file") != std::string::npos);
  // a truncated model is refused by name
  std::filesystem::resize_file(out, 1000);
  text = ogpt::test::run_cli("widen --model " + out + " --preset 8x512 --out " + t.str("y.ckpt"), &rc, true);
  CHECK(rc == 3);
  CHECK(text.find(out) != std::string::npos);
}
