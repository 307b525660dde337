// Weight averaging (model/average.hpp, `othello-gpt average`): the average is the weighted sum of
// the parameters, models of different shapes and weights that are not a distribution are refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/average.hpp"
#include "model/checkpoint.hpp"
#include "model/config.hpp"
#include "tests/cli_run.hpp"
#include "tests/temp_dir.hpp"
#include "util/error.hpp"

using namespace ogpt::model;

namespace {

Config tiny(int d_model) {
  Config c;
  c.n_layers = 2;
  c.d_model = d_model;
  c.n_heads = 2;
  c.d_head = d_model / 2;
  c.d_mlp = 2 * d_model;
  c.n_ctx = 7;
  return c;
}

ParamBlock random_params(const Config& c, uint64_t seed) {
  ParamBlock p(c);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& x : p.data) x = nd(rng);
  return p;
}

void refused(const std::vector<const ParamBlock*>& m, const std::vector<double>& w, const std::string& what) {
  std::vector<std::string> names;
  for (size_t i = 0; i < m.size(); ++i) names.push_back(std::string("m").append(std::to_string(i)));
  try {
    average_params(m, w, names);
    FAIL("not refused: " << what);
  } catch (const ogpt::UserError& e) {
    CHECK_MESSAGE(std::string(e.what()).find(what) != std::string::npos, e.what());
  }
}

}  // namespace

TEST_CASE("average: each parameter is the weighted sum, and a model averaged with itself is unchanged") {
  const ParamBlock a = random_params(tiny(8), 1), b = random_params(tiny(8), 2), c = random_params(tiny(8), 3);
  const ParamBlock m = average_params({&a, &b, &c}, {0.25, 0.25, 0.5}, {"a", "b", "c"});
  REQUIRE(m.data.size() == a.data.size());
  CHECK(m.cfg == a.cfg);
  for (size_t k = 0; k < m.data.size(); ++k)
    REQUIRE(m.data[k] == doctest::Approx(0.25 * a.data[k] + 0.25 * b.data[k] + 0.5 * c.data[k]).epsilon(1e-6));
  // the views point into the average's own block, not into an input's
  CHECK(m.w.W_E == m.data.data());
  const ParamBlock same = average_params({&a, &a}, {0.5, 0.5}, {"a", "a"});
  CHECK(same.data == a.data);
  const ParamBlock only_b = average_params({&a, &b}, {0.0, 1.0}, {"a", "b"});
  CHECK(only_b.data == b.data);
}

TEST_CASE("average: other shapes and weights that are not a distribution are refused by name") {
  const ParamBlock a = random_params(tiny(8), 1), b = random_params(tiny(8), 2), wide = random_params(tiny(16), 3);
  refused({&a, &wide}, {0.5, 0.5}, "m1 is 2x16");
  refused({&a, &b}, {0.5, 0.4}, "sum to 0.9");
  refused({&a, &b}, {1.5, -0.5}, ">= 0");
  refused({&a, &b}, {std::numeric_limits<double>::quiet_NaN(), 0.5}, ">= 0");
  refused({&a, &b}, {1.0}, "2 models but 1 weights");
  refused({}, {}, "no models");
}

TEST_CASE("cli: average the shipped model with itself and with a scaled copy, refuse bad inputs") {
  ogpt::test::TempDir t("average_cli");
  const std::string shipped = std::string(OGPT_SOURCE_DIR) + "/data/default";
  const LoadedCheckpoint ship = load_checkpoint(shipped + "/model.ckpt");
  // A copy with every weight doubled: 0.75 x shipped + 0.25 x doubled is 1.25 x shipped.
  ParamBlock twice = ship.params;
  for (float& x : twice.data) x *= 2;
  save_checkpoint(t.str("twice.ckpt"), twice, WeightDtype::f32);
  int rc = -1;
  std::string text = ogpt::test::run_cli("average --model " + shipped + " --model " + t.str("twice.ckpt") +
                                             " --weights 0.75,0.25 --out " + t.str("avg.ckpt") + " --json", &rc);
  REQUIRE(rc == 0);
  auto j = nlohmann::json::parse(text);
  CHECK(j["models"].size() == 2);
  CHECK(j["models"][1]["weight"].get<double>() == 0.25);
  CHECK(j["dtype"] == "f32");
  const LoadedCheckpoint avg = load_checkpoint(t.str("avg.ckpt"));
  REQUIRE(avg.params.cfg == ship.params.cfg);
  double worst = 0;  // the largest relative difference from 1.25 x shipped
  for (size_t k = 0; k < avg.params.data.size(); ++k) {
    const double want = 1.25 * ship.params.data[k];
    worst = std::max(worst, std::fabs(avg.params.data[k] - want) / std::max(1e-30, std::fabs(want)));
  }
  CHECK(worst < 1e-6);

  // equal weights by default; bf16 storage of bf16 weights averaged with themselves is exact
  text = ogpt::test::run_cli("average --model " + shipped + " --model " + shipped + " --dtype bf16 --out " +
                                 t.str("same.ckpt"), &rc);
  REQUIRE(rc == 0);
  CHECK(text.find("0.5 x " + shipped + "/model.ckpt") != std::string::npos);
  const LoadedCheckpoint same = load_checkpoint(t.str("same.ckpt"));
  CHECK(same.dtype == WeightDtype::bf16);
  CHECK(same.params.data == ship.params.data);

  auto refused = [&](const std::string& args, int code, const std::string& what) {
    std::string out = ogpt::test::run_cli(args, &rc, true);
    CHECK_MESSAGE(rc == code, args);
    CHECK_MESSAGE(out.find(what) != std::string::npos, out);
    CHECK(out.find("internal error") == std::string::npos);
    CHECK(!std::filesystem::exists(t.str("x.ckpt")));
  };
  refused("average --model " + shipped + " --out " + t.str("x.ckpt"), 2, "give --model at least twice");
  refused("average --model " + shipped + " --model " + shipped + " --weights 0.5,0.6 --out " + t.str("x.ckpt"), 2,
          "sum to 1.1");
  refused("average --model " + shipped + " --model " + shipped + " --weights 1 --out " + t.str("x.ckpt"), 2,
          "2 models but 1 weights");
  refused("average --model " + t.str("avg.ckpt") + " --model " + shipped + " --out " + t.str("avg.ckpt"), 2,
          "is the input file");
  std::filesystem::resize_file(t.str("twice.ckpt"), 1000);
  refused("average --model " + shipped + " --model " + t.str("twice.ckpt") + " --out " + t.str("x.ckpt"), 3,
          t.str("twice.ckpt"));
}
