// `othello-gpt train`, `eval` and `predict` end to end on a tiny run (2x64, batch 8).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "data/game_file.hpp"
#include "model/checkpoint.hpp"
#include "model/dnnl_plan.hpp"
#include "model/train_log.hpp"
#include "model/train_state.hpp"
#include "util/atomic_file.hpp"
#include "tests/temp_dir.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

using ogpt::test::TempDir;

namespace {
// Runs the CLI; returns stdout, exit code in *rc, stderr in *err (if given).
std::string run_cli(const std::string& args, int* rc, std::string* err = nullptr) {
  std::string errfile = (fs::temp_directory_path() / ("ogpt_cli_err_" + std::to_string(::getpid()))).string();
  std::string cmd = std::string(OGPT_CLI) + " " + args + " 2>" + errfile;
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  int status = pclose(f);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (err) {
    FILE* e = std::fopen(errfile.c_str(), "r");
    err->clear();
    if (e) {
      for (size_t n; (n = fread(buf, 1, sizeof buf, e)) > 0;) err->append(buf, n);
      std::fclose(e);
    }
  }
  fs::remove(errfile);
  return out;
}

// Starts a long tiny training run in the background; returns its pid once log.csv has `lines` lines.
pid_t start_long_run(const std::string& run, const char* ckpt_minutes, size_t lines_wanted, size_t* lines) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::freopen("/dev/null", "w", stderr);
    execl(OGPT_CLI, OGPT_CLI, "train", "--preset", "2x64", "--batch", "8", "--val-games", "8", "--threads", "1",
          "--f32", "--games", "10000000", "--log-every", "1", "--val-every", "0", "--ckpt-every-minutes",
          ckpt_minutes, "--out", run.c_str(), nullptr);
    _exit(127);
  }
  auto start = std::chrono::steady_clock::now();
  *lines = 0;
  while (*lines < lines_wanted && std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    *lines = 0;
    if (FILE* f = std::fopen((run + "/log.csv").c_str(), "r")) {
      for (int c; (c = std::fgetc(f)) != EOF;) *lines += c == '\n';
      std::fclose(f);
    }
  }
  return pid;
}

const std::string kTiny = "train --preset 2x64 --batch 8 --val-games 16 --threads 1 --f32 ";
}  // namespace

TEST_CASE("train cli: train, refuse, extend, eval, predict") {
  TempDir tmp("train_cli");
  std::string run = tmp.str("run");
  int rc = -1;
  std::string err;
  json j = json::parse(run_cli(kTiny + "--games 64 --out " + run + " --json", &rc));
  REQUIRE(rc == 0);
  CHECK(j["status"] == "done");
  CHECK(j["steps"] == 8);
  CHECK(j["games"] == 64);
  CHECK(j["val_legal_top1"].get<double>() >= 0);
  for (const char* f : {"latest.ckpt", "previous.ckpt", "log.csv", "curve.svg"}) CHECK(fs::exists(fs::path(run) / f));

  run_cli(kTiny + "--games 64 --out " + run, &rc, &err);
  CHECK(rc == 2);
  CHECK(err.find("--resume") != std::string::npos);
  run_cli("train --preset 2x64 --batch 16 --games 64 --threads 1 --resume --out " + run, &rc, &err);
  CHECK(rc == 2);
  CHECK(err.find("--batch 16 (the run has 8)") != std::string::npos);
  j = json::parse(run_cli("train --resume --games 96 --threads 1 --out " + run + " --json", &rc));
  CHECK(rc == 0);
  CHECK(j["steps"] == 12);

  // eval on held-out random games equals eval on a file holding the same games.
  json r = json::parse(run_cli("eval --model " + run + " --random 20 --seed 5 --json", &rc));
  REQUIRE(rc == 0);
  CHECK(r["games"] == 20);
  CHECK(r["positions"].get<int>() > 20 * 50);
  CHECK(r["legal_top1"].get<double>() >= 0);
  CHECK(r["legal_top1"].get<double>() <= 1);
  CHECK(r["entropy_floor"].get<double>() == doctest::Approx(2.0).epsilon(0.15));
  CHECK(r["excess_loss"].get<double>() ==
        doctest::Approx(r["loss"].get<double>() - r["entropy_floor"].get<double>()));
  std::vector<ogpt::data::Game> games(20);
  ogpt::data::generate_games(5, ogpt::model::kHeldOutFirst, games.size(), games.data());
  ogpt::data::write_games(tmp.str("held.games"), games);
  json f = json::parse(run_cli("eval --model " + run + "/latest.ckpt --games " + tmp.str("held.games") + " --json", &rc));
  REQUIRE(rc == 0);
  CHECK(f["positions"] == r["positions"]);
  CHECK(f["loss"].get<double>() == doctest::Approx(r["loss"].get<double>()));
  CHECK(f["legal_top1"] == r["legal_top1"]);
  // Past eval's 16,384-game slice: the games stream through in slices, from the file and from
  // the generator, and no slice is dropped, repeated or regenerated from the stream's start.
  {
    std::vector<ogpt::data::Game> many(16400);
    ogpt::data::generate_games(5, ogpt::model::kHeldOutFirst, many.size(), many.data());
    ogpt::data::write_games(tmp.str("many.games"), many);
    json rm = json::parse(run_cli("eval --model " + run + " --random 16400 --seed 5 --json", &rc));
    REQUIRE(rc == 0);
    json fm = json::parse(run_cli("eval --model " + run + " --games " + tmp.str("many.games") + " --json", &rc));
    REQUIRE(rc == 0);
    uint64_t positions = 0;
    for (const auto& g : many) positions += ogpt::data::n_targets(g);
    CHECK(rm["games"] == 16400);
    CHECK(fm["games"] == 16400);
    CHECK(rm["positions"].get<uint64_t>() == positions);
    CHECK(fm["positions"].get<uint64_t>() == positions);
    CHECK(fm["legal_top1"] == rm["legal_top1"]);
    CHECK(fm["loss"].get<double>() == doctest::Approx(rm["loss"].get<double>()));
  }
  // --breakdown: the rows by moves seen add up to the whole, each consistent in itself; the
  // after-pass slice is part of them; --svg writes the picture.
  json b = json::parse(run_cli("eval --model " + run + " --random 20 --seed 5 --breakdown --json --svg " +
                                   tmp.str("where.svg"),
                               &rc));
  REQUIRE(rc == 0);
  CHECK(b["legal_top1"] == r["legal_top1"]);
  REQUIRE(b["by_moves_seen"].size() == 59);
  uint64_t pos = 0, illegal = 0;
  double loss = 0;
  for (const auto& row : b["by_moves_seen"]) {
    pos += row["positions"].get<uint64_t>();
    illegal += row["illegal_top1"].get<uint64_t>();
    loss += row["loss"].get<double>() * row["positions"].get<double>();
    CHECK(row["legal_top1"].get<double>() ==
          doctest::Approx(1.0 - row["illegal_top1"].get<double>() / row["positions"].get<double>()));
  }
  CHECK(b["by_moves_seen"][0]["moves_seen"] == 1);
  CHECK(b["by_moves_seen"][0]["positions"] == 20);  // every game has a second move
  CHECK(pos == b["positions"].get<uint64_t>());
  CHECK(double(pos - illegal) / double(pos) == doctest::Approx(b["legal_top1"].get<double>()));
  CHECK(loss / double(pos) == doctest::Approx(b["loss"].get<double>()).epsilon(1e-4));
  CHECK(b["after_pass"]["positions"].get<uint64_t>() < pos);
  CHECK(b["after_pass"]["illegal_top1"].get<uint64_t>() <= illegal);
  const std::string svg = ogpt::util::read_file(tmp.str("where.svg"));
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("Illegal top-1 by moves seen") != std::string::npos);
  run_cli("eval --model " + run, &rc, &err);
  CHECK(rc == 2);  // neither --games nor --random
  run_cli("eval --model " + tmp.str("nope") + " --random 4", &rc, &err);
  CHECK(rc == 4);
  CHECK(err.find("nope") != std::string::npos);

  // predict: the distribution over the 60 squares sums to 1; legal set and side to move.
  json p = json::parse(run_cli("predict --model " + run + " --moves 'f5 d6 c3' --json", &rc));
  REQUIRE(rc == 0);
  CHECK(p["to_move"] == "white");
  CHECK(p["legal"] == json({"d3", "f3", "f4", "g5"}));
  CHECK(p["probabilities"].size() == 60);
  CHECK(!p["probabilities"].contains("d4"));
  double sum = 0;
  for (auto& [sq, v] : p["probabilities"].items()) sum += v.get<double>();
  CHECK(sum == doctest::Approx(1.0));
  std::string text = run_cli("predict --model " + run + " --moves f5d6c3 --top 3", &rc);
  CHECK(rc == 0);
  CHECK(text.find("white to move") != std::string::npos);
  CHECK(text.find(" 3. ") != std::string::npos);
  run_cli("predict --model " + run + " --moves 'f5 f5'", &rc, &err);
  CHECK(rc == 3);
  CHECK(err.find("move 2") != std::string::npos);
}

TEST_CASE("train cli: a checkpoint whose optimizer state does not fit its weights is not resumed") {
  TempDir tmp("train_cli_opt");
  std::string run = tmp.str("run"), err;
  int rc = -1;
  run_cli(kTiny + "--games 16 --out " + run, &rc);
  REQUIRE(rc == 0);
  // Forge both checkpoints (checksums intact) with a first moment of one value: the optimizer
  // would have reset it to zeros in silence and gone on with the stored step count.
  for (const char* f : {"/latest.ckpt", "/previous.ckpt"}) {
    auto c = ogpt::model::load_checkpoint(run + f);
    auto st = ogpt::model::decode_train_state(c.extra, run + f);
    REQUIRE(st.opt.m.size() == c.params.data.size());
    st.opt.m.resize(1);
    ogpt::model::save_checkpoint(run + f, c.params, ogpt::model::WeightDtype::f32,
                                 ogpt::model::encode_train_state(st));
  }
  run_cli("train --resume --games 32 --threads 1 --out " + run, &rc, &err);
  CHECK(rc != 0);
  CHECK(err.find("previous.ckpt: optimizer state holds 1 / ") != std::string::npos);
  CHECK(err.find("moments for") != std::string::npos);
}

TEST_CASE("train cli: an absurd learning rate stops with the non-finite exit code") {
  TempDir tmp("train_cli_nan");
  int rc = -1;
  std::string err;
  run_cli(kTiny + "--games 800 --lr 1e30 --warmup 0 --wd 0 --out " + tmp.str("run"), &rc, &err);
  CHECK(rc == 5);
  CHECK(err.find("non-finite") != std::string::npos);
  auto c = ogpt::model::load_checkpoint(tmp.str("run") + "/latest.ckpt");
  for (float w : c.params.data) REQUIRE(std::isfinite(w));
}

TEST_CASE("train cli: Ctrl-C finishes the step, saves and exits 130, --resume continues") {
  TempDir tmp("train_cli_sigint");
  std::string run = tmp.str("run");
  // Wait until it has taken a few steps (log.csv: header, the step-0 row, then one row a step).
  size_t lines = 0;
  pid_t pid = start_long_run(run, "100", 5, &lines);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(lines >= 5);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  auto c = ogpt::model::load_checkpoint(run + "/latest.ckpt");
  auto st = ogpt::model::decode_train_state(c.extra, run);
  CHECK(st.step >= 3);
  CHECK(st.games_seen == 8 * static_cast<uint64_t>(st.step));
  int rc = -1;
  json j = json::parse(run_cli("train --resume --threads 1 --stop-after 2 --out " + run + " --json", &rc));
  CHECK(rc == 0);
  CHECK(j["status"] == "stopped");
  CHECK(j["steps"] == st.step + 2);
}

TEST_CASE("train cli: kill -9 at any moment leaves a run that resumes, each logged step once") {
  TempDir tmp("train_cli_kill");
  std::string run = tmp.str("run");
  size_t lines = 0;
  pid_t pid = start_long_run(run, "0", 8, &lines);  // a checkpoint after every step
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(lines >= 8);
  auto st = ogpt::model::decode_train_state(ogpt::model::load_checkpoint(run + "/latest.ckpt").extra, run);
  int rc = -1;
  json j = json::parse(run_cli("train --resume --threads 1 --stop-after 1 --out " + run + " --json", &rc));
  CHECK(rc == 0);
  CHECK(j["steps"] == st.step + 1);
  std::FILE* f = std::fopen((run + "/log.csv").c_str(), "r");
  REQUIRE(f);
  char line[512];
  std::vector<long> steps;
  std::fgets(line, sizeof line, f);  // header
  while (std::fgets(line, sizeof line, f)) steps.push_back(std::strtol(line, nullptr, 10));
  std::fclose(f);
  REQUIRE(!steps.empty());
  for (size_t i = 0; i < steps.size(); ++i) CHECK(steps[i] == static_cast<long>(i));
  CHECK(steps.back() == st.step + 1);
}

TEST_CASE("train cli: curves compares runs (SVG with every run, JSON = each run's last validation)") {
  TempDir tmp("curves");
  for (int k = 0; k < 2; ++k) {
    fs::create_directories(tmp.str("run" + std::to_string(k)));
    std::string csv = std::string(ogpt::model::kLogHeader) + "\n";
    for (int s = 0; s <= 4; ++s) {
      ogpt::model::LogRow r;
      r.step = s * 10;
      r.games = static_cast<uint64_t>(s) * 1000;
      r.wall_s = s * 60.0 * (k + 1);
      r.train_loss = 3.0 - 0.1 * s;
      r.train_excess = 1.0 - 0.1 * s;
      if (s % 2 == 0) {
        r.val_loss = 3.0 - 0.1 * s - 0.05 * k;
        r.val_excess = 1.0 - 0.1 * s - 0.05 * k;
        r.val_legal_top1 = 0.5 + 0.1 * s + 0.01 * k;
      }
      csv += ogpt::model::format_log_row(r) + "\n";
    }
    ogpt::util::write_file_atomic(tmp.str("run" + std::to_string(k) + "/log.csv"), csv);
  }
  int rc = 0;
  const std::string svg = tmp.str("cmp.svg");
  json j = json::parse(run_cli("curves " + tmp.str("run0") + " " + tmp.str("run1") + " --out " + svg + " --json", &rc));
  REQUIRE(rc == 0);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["run"] == "run0");
  CHECK(j[1]["games"] == 4000);
  CHECK(j[1]["val_excess"].get<double>() == doctest::Approx(0.55));
  CHECK(j[1]["val_legal_top1"].get<double>() == doctest::Approx(0.91));
  CHECK(j[1]["wall_hours"].get<double>() == doctest::Approx(480.0 / 3600));
  std::string pic = ogpt::util::read_file(svg);
  CHECK(pic.find("run0") != std::string::npos);
  CHECK(pic.find("run1") != std::string::npos);
  CHECK(pic.find("training hours") != std::string::npos);
  CHECK(pic.rfind("</svg>") != std::string::npos);
  // logs kept side by side in one folder are named after their files; a run's log.csv after its run
  fs::copy_file(tmp.str("run1/log.csv"), tmp.str("run0/muon-lr2e-3.csv"));
  j = json::parse(run_cli("curves " + tmp.str("run0/log.csv") + " " + tmp.str("run0/muon-lr2e-3.csv") + " --out " +
                              svg + " --json",
                          &rc));
  REQUIRE(rc == 0);
  CHECK(j[0]["run"] == "run0");
  CHECK(j[1]["run"] == "muon-lr2e-3");
  CHECK(ogpt::util::read_file(svg).find("muon-lr2e-3") != std::string::npos);
  run_cli("curves " + tmp.str("nothing-here") + " --out " + svg, &rc);
  CHECK(rc == 3);
}

TEST_CASE("train cli: --init-from starts a new run from a model's weights, fresh optimizer") {
  TempDir tmp("train_cli_init");
  int rc = -1;
  std::string err;
  const std::string a = tmp.str("a"), b = tmp.str("b"), c = tmp.str("c");
  run_cli(kTiny + "--games 32 --seed 3 --out " + a, &rc);
  REQUIRE(rc == 0);
  // with a vanishing learning rate (and no weight decay) a step leaves the weights where they
  // started: exactly a's
  json j = json::parse(run_cli(kTiny + "--games 8 --seed 4 --lr 1e-30 --wd 0 --warmup 0 --init-from " + a +
                                   " --out " + b + " --json", &rc, &err));
  REQUIRE(rc == 0);
  CHECK(j["steps"] == 1);
  CHECK(err.find("from the weights of") != std::string::npos);
  auto wa = ogpt::model::load_checkpoint(a + "/latest.ckpt");
  CHECK(ogpt::model::load_checkpoint(b + "/latest.ckpt").params.data == wa.params.data);
  // import --json of a training checkpoint says which run made it
  json imp = json::parse(run_cli("import --from " + b + "/latest.ckpt --out " + tmp.str("m.ckpt") + " --dtype bf16 --json", &rc));
  REQUIRE(rc == 0);
  CHECK(imp["run"]["preset"] == "2x64");
  CHECK(imp["run"]["seed"] == 4);
  CHECK(imp["run"]["batch"] == 8);
  CHECK(imp["run"]["games_seen"] == 8);
  CHECK(imp["run"]["precision"] == "f32");
  CHECK(imp["run"]["target"] == "next-move");
  // a random init (the same seed, no --init-from) is somewhere else
  run_cli(kTiny + "--games 8 --seed 4 --lr 1e-30 --wd 0 --warmup 0 --out " + tmp.str("r"), &rc);
  REQUIRE(rc == 0);
  CHECK(ogpt::model::load_checkpoint(tmp.str("r") + "/latest.ckpt").params.data != wa.params.data);
  // a different preset, or a run that is resumed, is refused with a message
  run_cli("train --preset 4x128 --batch 8 --val-games 4 --threads 1 --f32 --games 8 --init-from " + a + " --out " + c, &rc, &err);
  CHECK(rc == 2);
  CHECK(err.find("not --preset 4x128") != std::string::npos);
  CHECK(err.find("widen") == std::string::npos);  // 2x64 cannot grow into 4x128 (depth)
  // a narrower model of the same depth: the refusal says how to widen it first
  run_cli("train --preset 8x512 --batch 8 --val-games 4 --threads 1 --games 8 --init-from " +
              std::string(OGPT_SOURCE_DIR) + "/data/default --out " + c, &rc, &err);
  CHECK(rc == 2);
  CHECK(err.find("not --preset 8x512 (`othello-gpt widen --model ") != std::string::npos);
  run_cli("train --resume --threads 1 --init-from " + a + " --out " + b, &rc, &err);
  CHECK(rc == 2);
  CHECK(err.find("--init-from starts a new run") != std::string::npos);
}

TEST_CASE("train cli: bf16 where the CPU has it, f32 (said) where it does not") {
  TempDir tmp("train_cli_prec");
  int rc = -1;
  std::string err;
  const std::string base = "train --preset 2x64 --batch 8 --val-games 4 --threads 1 --games 8 ";
  run_cli(base + "--out " + tmp.str("default") + " --json", &rc, &err);
  REQUIRE(rc == 0);
  const bool has_bf16 = ogpt::model::bf16_matmul_supported();
  CHECK(err.find(has_bf16 ? ", bf16, " : ", f32, ") != std::string::npos);
  run_cli(base + "--bf16 --out " + tmp.str("asked"), &rc, &err);
  if (has_bf16) {
    CHECK(rc == 0);
  } else {
    CHECK(rc == 2);
    CHECK(err.find("no bf16 matmul") != std::string::npos);
  }
}
