// Faults while writing a game file with the real CLI (`othello-gpt generate`): SIGKILL at many
// moments, a full disk (RLIMIT_FSIZE), and directories that cannot be written. Whatever happens,
// the file the user had is either the old complete file or the new complete file, and it loads.
#include <doctest/doctest.h>

#include "data/game_file.hpp"
#include "tests/test_faults_support.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace ogpt;
using namespace ogpt::faults;

namespace {
std::vector<std::string> gen_args(const std::string& out, int games, int seed) {
  return {"generate", "--games", std::to_string(games), "--seed", std::to_string(seed), "--out", out,
          "--quiet", "--threads", "1"};
}
}  // namespace

TEST_CASE("faults: kill -9 during generate leaves the old or the new complete game file") {
  ScratchDir d("gen-kill");
  const std::string out = d / "train.games", ref = d / "ref.games";
  auto r = run_cli(gen_args(out, 500, 1), d.path.string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const std::string old_bytes = slurp(out);
  // The new version, made once undisturbed: its bytes are what a finished run must leave (the
  // generator is deterministic), and its duration spreads the kill moments over the whole run.
  r = run_cli(gen_args(ref, 150000, 2), d.path.string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const std::string new_bytes = slurp(ref);
  REQUIRE(new_bytes != old_bytes);

  const int kKills = 8;
  int killed = 0, saw_new = 0;
  // The kill moments are spread over the reference run's duration; on a machine whose load
  // changes, a later run can finish before its moment. Then the moments shrink (the check of the
  // files holds either way; the kills are what make the test prove something).
  double scale = 1.0;
  for (int i = 0; i < 2 * kKills && killed < kKills; ++i) {
    util::write_file_atomic(out, old_bytes);
    double at = kill_moment(i % kKills, kKills, r.seconds, 11) * scale;
    int st = run_cli_killed_after(gen_args(out, 150000, 2), at);
    if (st == 128 + SIGKILL)
      ++killed;
    else
      scale *= 0.5;
    const std::string now = slurp(out);
    INFO("kill " << i << " at " << at << " s of " << r.seconds << " s, exit status " << st);
    CHECK((now == old_bytes || now == new_bytes));
    saw_new += now == new_bytes;
    // And it loads (crc32 and every game checked), with the count of one of the two versions.
    auto games = data::read_all_games(out);
    CHECK((games.size() == 500 || games.size() == 150000));
  }
  CHECK(killed >= kKills / 2);  // most kills landed while it ran (else the test proves little)
  MESSAGE("generate: " << killed << " of " << kKills << " runs killed mid-way, " << saw_new
                       << " finished first; temporaries left by the kills: " << temp_leftovers(d.path).size());
}

TEST_CASE("faults: generate on a full disk fails cleanly and keeps the old file") {
  ScratchDir d("gen-full");
  const std::string out = d / "train.games";
  REQUIRE(run_cli(gen_args(out, 300, 1), d.path.string()).code == 0);
  const std::string old_bytes = slurp(out);
  // RLIMIT_FSIZE of 64 KiB: the writer's write() fails with EFBIG like on a full disk.
  ChildSetup full;
  full.fsize_limit = 64 * 1024;
  auto r = run_cli(gen_args(out, 20000, 2), d.path.string(), full);
  CHECK(r.code == kIo);
  CHECK(r.err.find("train.games") != std::string::npos);   // names the file
  CHECK(r.err.find("previous file") != std::string::npos); // says the old one is kept
  CHECK(r.err.find('\n') == r.err.size() - 1);              // one line
  CHECK(slurp(out) == old_bytes);
  CHECK(temp_leftovers(d.path).empty());  // the failed temporary was removed
  CHECK(data::read_all_games(out).size() == 300);
}

TEST_CASE("faults: generate into a directory it cannot write fails cleanly and keeps the old file") {
  ScratchDir d("gen-ro");
  fs::create_directory(d.path / "ro");
  const std::string out = (d.path / "ro" / "train.games").string();
  REQUIRE(run_cli(gen_args(out, 300, 1), d.path.string()).code == 0);
  const std::string old_bytes = slurp(out);
  fs::permissions(d.path / "ro", fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                     fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  ChildSetup nobody;
  nobody.as_nobody = true;  // root ignores directory permissions; run the writer unprivileged
  auto r = run_cli(gen_args(out, 1000, 2), d.path.string(), nobody);
  CHECK(r.code == kIo);
  CHECK(r.err.find(out) != std::string::npos);
  CHECK(r.err.find("ermission denied") != std::string::npos);
  CHECK(slurp(out) == old_bytes);


  // A missing directory and a path through a file are refused too.
  auto miss = run_cli(gen_args(d / "no/such/dir/x.games", 10, 1), d.path.string());
  CHECK(miss.code == kIo);
  CHECK(miss.err.find("no/such/dir/x.games") != std::string::npos);
  auto through = run_cli(gen_args(out + "/x.games", 10, 1), d.path.string());
  CHECK(through.code == kIo);
  CHECK(slurp(out) == old_bytes);
}

TEST_CASE("faults: Ctrl-C or SIGTERM during generate removes its temporary and keeps the old file") {
  ScratchDir d("gen-int");
  const std::string out = d / "train.games";
  REQUIRE(run_cli(gen_args(out, 300, 1), d.path.string()).code == 0);
  const std::string old_bytes = slurp(out);
  for (int sig : {SIGINT, SIGTERM}) {
    // A run of minutes; the signal comes once its temporary exists (it is written as it goes).
    pid_t pid = spawn_cli(gen_args(out, 50000000, 2));
    for (int i = 0; i < 400 && temp_leftovers(d.path).empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    REQUIRE(!temp_leftovers(d.path).empty());  // else the signal would prove nothing
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(pid, sig);
    CHECK(wait_child(pid) == 128 + sig);  // ended by the signal, as the shell expects
    CHECK(temp_leftovers(d.path).empty());
    CHECK(slurp(out) == old_bytes);
  }
}
