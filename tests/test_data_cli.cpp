// The data subcommands end to end: generate is byte-identical for any thread count, text export
// and import round-trip, and a corrupted file is refused with exit code 3.
#include <doctest/doctest.h>

#include "tests/cli_run.hpp"
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "data/game_file.hpp"
#include "util/atomic_file.hpp"

namespace {
std::string run(const std::string& args, int* rc) { return ogpt::test::run_cli(args, rc, true); }
std::string tmp(const std::string& name) {
  return "/tmp/ogpt_test_datacli_" + std::to_string(::getpid()) + "_" + name;
}
}  // namespace

TEST_CASE("data cli: generate is byte-identical for 1 and 2 threads, text round trip") {
  int rc = 0;
  std::string a = tmp("a.games"), b = tmp("b.games"), txt = tmp("a.txt"), c = tmp("c.games");
  std::string out = run("generate --games 70000 --seed 5 --threads 1 -q --out " + a, &rc);
  REQUIRE(rc == 0);
  CHECK(out.find("games with passes") != std::string::npos);
  run("generate --games 70000 --seed 5 --threads 2 -q --json --out " + b, &rc);
  REQUIRE(rc == 0);
  std::string bytes_a = ogpt::util::read_file(a);
  CHECK(bytes_a == ogpt::util::read_file(b));
  CHECK(ogpt::data::count_games(a) == 70000);

  run("export-games -q --in " + a + " --format text --out " + txt, &rc);
  REQUIRE(rc == 0);
  run("import-games --text " + txt + " --out " + c, &rc);
  REQUIRE(rc == 0);
  auto ga = ogpt::data::read_all_games(a), gc = ogpt::data::read_all_games(c);
  REQUIRE(ga.size() == gc.size());
  for (size_t i = 0; i < ga.size(); i += 97) CHECK(ga[i].moves == gc[i].moves);

  std::string bad = bytes_a;
  bad[bad.size() / 2] ^= 0x10;
  ogpt::util::write_file_atomic(b, bad);
  out = run("export-games --in " + b, &rc);
  CHECK(rc == 3);
  CHECK(out.find("crc32 mismatch") != std::string::npos);
  CHECK(out.find(b) != std::string::npos);
  for (auto& p : {a, b, txt, c}) ::unlink(p.c_str());
}
