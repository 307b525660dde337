// `othello-gpt intervene`, `intervene bench` and `saliency` end to end on a small untrained model
// with random probes written to a temporary directory: the engine's side of the report (legal
// sets), the shape of the JSON, the files written, and the refusals with their exit codes.
#include <doctest/doctest.h>

#include "tests/cli_run.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "model/checkpoint.hpp"
#include "model/config.hpp"
#include "probes/probe_file.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace {

using ogpt::test::run_cli;

// A 2x64 model with random weights and random linear + MLP probes at layers 1 and 2.
struct TempModel {
  fs::path dir = fs::temp_directory_path() / ("ogpt_test_intervene_" + std::to_string(::getpid()));
  TempModel() {
    fs::create_directories(dir / "probes");
    ogpt::model::ParamBlock p(ogpt::model::preset("2x64"));
    ogpt::model::init_params(p, 3);
    ogpt::model::save_checkpoint((dir / "model.ckpt").string(), p, ogpt::model::WeightDtype::f32);
    for (int layer = 1; layer <= 2; ++layer)
      for (auto kind : {ogpt::probes::Kind::linear, ogpt::probes::Kind::mlp}) {
        auto pr = ogpt::probes::make_probe(kind, ogpt::probes::Target::mine_theirs, 64, 32, layer * 7 + int(kind));
        pr.layer = layer;
        pr.hook = "blocks." + std::to_string(layer - 1) + ".hook_resid_post";
        ogpt::probes::save_probe((dir / "probes" / (std::string(ogpt::probes::kind_name(kind)) + "_L" +
                                                    std::to_string(layer) + ".probe")).string(), pr);
      }
  }
  ~TempModel() { fs::remove_all(dir); }
  std::string args() const { return "--model " + dir.string() + " --probe " + (dir / "probes").string(); }
};

}  // namespace

TEST_CASE("intervene cli: JSON report of a hand-checked edit") {
  TempModel m;
  int rc = -1;
  const std::string out = run_cli("intervene " + m.args() + " --moves f5 --cell e4 --to mine --layer 1 --json", &rc);
  REQUIRE(rc == 0);
  const auto j = nlohmann::json::parse(out);
  CHECK(j["before"]["legal"] == nlohmann::json({"f4", "d6", "f6"}));
  CHECK(j["after"]["legal"] == nlohmann::json({"c6", "d6", "e6", "f6", "g6"}));
  CHECK(j["before"]["predicted"].size() == 3);
  CHECK(j["after"]["predicted"].size() == 5);
  // errors = 2 x (predicted squares that are not legal), as |predicted| = |legal|.
  int wrong = 0;
  for (auto& sq : j["after"]["predicted"]) {
    bool legal = false;
    for (auto& l : j["after"]["legal"]) legal |= l == sq;
    wrong += !legal;
  }
  CHECK(j["errors"] == 2 * wrong);
  CHECK(j["null_errors"].get<int>() >= 0);
  CHECK(j["pass"] == (j["errors"] == 0));
  // The text report reads like a test.
  const std::string text = run_cli("intervene " + m.args() + " --moves f5 --cell e4 --to mine --layer 1", &rc);
  CHECK(rc == 0);
  CHECK(text.find("legal after  (5): c6 d6 e6 f6 g6") != std::string::npos);
  CHECK((text.find("PASS:") != std::string::npos || text.find("FAIL:") != std::string::npos));
  // The linear scale's default follows where the edit is written: 4 at the last position, 2 at
  // every position since, 1 when the change is added at another hook of every later layer (it
  // adds up there); a given --scale wins.
  for (auto [flags, want] : {std::pair{"", "scale 4"}, std::pair{" --positions since", "scale 2"},
                             std::pair{" --hook hook_attn_out", "scale 1, written at hook_attn_out"},
                             std::pair{" --hook hook_attn_out --scale 3", "scale 3, written at hook_attn_out"}}) {
    CAPTURE(flags);
    const std::string t = run_cli("intervene " + m.args() + " --moves f5 --cell e4 --to mine --layer 1" + flags, &rc);
    CHECK(rc == 0);
    CHECK(t.find(want) != std::string::npos);
  }
}

TEST_CASE("intervene cli: bench rows and chart, saliency map, refusals") {
  TempModel m;
  int rc = -1;
  const std::string svg = (m.dir / "bench.svg").string();
  const std::string out = run_cli("intervene bench " + m.args() +
                                      " --layer 1 --cases 3 --seed 2 --steps 20 --max-nodes 500 --json --svg " + svg, &rc);
  REQUIRE(rc == 0);
  const auto j = nlohmann::json::parse(out);
  REQUIRE(j.size() == 8);  // 2 methods x 2 kinds x 2 sets
  for (auto& row : j) {
    CHECK(row["cases"] == 3);
    CHECK(row["errors_mean"].get<double>() >= 0);
    CHECK(row["null_mean"].get<double>() > 0);  // every case changes the legal set
    for (const char* k : {"method", "kind", "set", "errors_ci95"}) CHECK(row.contains(k));
  }
  CHECK(ogpt::util::read_file(svg).find("<svg") == 0);
  // The same cases saved and rerun from the file give the same rows.
  const std::string cases = (m.dir / "set.cases").string();
  const std::string common = "intervene bench " + m.args() + " --layer 1 --steps 20 --json --methods linear ";
  const auto j1 = nlohmann::json::parse(run_cli(common + "--cases 3 --seed 2 --max-nodes 500 --save-cases " + cases, &rc));
  CHECK(rc == 0);
  const auto j2 = nlohmann::json::parse(run_cli(common + "--cases-file " + cases, &rc));
  CHECK(rc == 0);
  CHECK(j1 == j2);
  CHECK(j1.size() == 4);
  const std::string map = (m.dir / "map.svg").string();
  run_cli("saliency " + m.args() + " --layer 1 --moves 'f5 d6 c3' --out " + map, &rc);
  CHECK(rc == 0);
  CHECK(ogpt::util::read_file(map).find("Latent saliency") != std::string::npos);
  // Refusals: a bad square (usage, 2), an edit that leaves no legal move (bad input, 3),
  // a missing probe directory (I/O, 4).
  run_cli("intervene " + m.args() + " --moves f5 --cell z9 --to mine", &rc);
  CHECK(rc == 2);
  run_cli("intervene " + m.args() + " --moves f5 --cell d4 --to theirs", &rc);
  CHECK(rc == 3);
  run_cli("intervene --model " + m.dir.string() + " --probe /nonexistent --moves f5 --cell e4 --to mine", &rc);
  CHECK(rc == 4);
}
