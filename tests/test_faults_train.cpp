// kill -9 the trainer (`othello-gpt train --preset 2x64`) at many moments: after each kill every
// checkpoint in the run directory loads, --resume continues, and the run finished through kills
// and resumes ends with the same weights as an unbroken run (the trainer promises bit-exact
// resumes for a fixed thread count).
#include <doctest/doctest.h>

#if __has_include("model/trainer.hpp")
#include "model/checkpoint.hpp"
#include "tests/test_faults_support.hpp"

using namespace ogpt;
using namespace ogpt::faults;

namespace {
std::vector<std::string> train_args(const std::string& dir, bool resume) {
  std::vector<std::string> a = {"train", "--preset", "2x64", "--batch", "8", "--games", "480", "--seed", "3",
                                "--val-games", "8", "--val-every", "0", "--ckpt-every-minutes", "0",
                                "--threads", "1", "--out", dir};
  if (resume) a.push_back("--resume");
  return a;
}
}  // namespace

TEST_CASE("faults: kill -9 during train keeps loadable checkpoints, and --resume ends where an unbroken run does") {
  ScratchDir d("train-kill");
  const std::string ref = d / "ref", run = d / "run";
  auto r = run_cli(train_args(ref, false), d.path.string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto want = model::load_checkpoint(ref + "/latest.ckpt");

  const int kKills = 6;
  int killed = 0;
  for (int i = 0; i < kKills; ++i) {
    const bool resume = fs::exists(run + "/latest.ckpt");
    const double at = kill_moment(i, kKills, r.seconds * 0.5, 41);
    const int st = run_cli_killed_after(train_args(run, resume), at);
    killed += st == 128 + SIGKILL;
    INFO("kill " << i << " at " << at << " s of " << r.seconds << " s, status " << st);
    for (const char* f : {"/latest.ckpt", "/previous.ckpt"})
      if (fs::exists(run + f)) {
        auto c = model::load_checkpoint(run + f);  // throws (fails the test) if damaged
        CHECK(c.params.data.size() == model::param_count(c.params.cfg));
      }
  }
  CHECK(killed >= 1);
  auto fin = run_cli(train_args(run, fs::exists(run + "/latest.ckpt")), d.path.string());
  REQUIRE_MESSAGE(fin.code == 0, fin.err);
  const auto got = model::load_checkpoint(run + "/latest.ckpt");
  CHECK(got.params.cfg == want.params.cfg);
  CHECK(got.params.data == want.params.data);  // bit for bit
  MESSAGE("train: " << killed << " of " << kKills << " sessions killed; unbroken run " << r.seconds << " s");
}
#endif
