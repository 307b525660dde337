// The engine's subcommands end to end: `othello-gpt show` and `othello-gpt perft`.
#include <doctest/doctest.h>

#include "tests/cli_run.hpp"

#include <cstdio>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

namespace {
using ogpt::test::run_cli;
}  // namespace

TEST_CASE("othello cli: show --json after f5 d6 c3") {
  int rc = -1;
  auto j = nlohmann::json::parse(run_cli("show --moves 'f5 d6 c3' --json", &rc));
  CHECK(rc == 0);
  CHECK(j["moves"] == nlohmann::json({"f5", "d6", "c3"}));
  CHECK(j["to_move"] == "white");
  CHECK(j["legal"] == nlohmann::json({"d3", "f3", "f4", "g5"}));
  CHECK(j["black"] == 5);
  CHECK(j["white"] == 2);
  CHECK(j["game_over"] == false);
  REQUIRE(j["board"].size() == 8);
  CHECK(j["board"][2] == "..X.....");  // c3
  CHECK(j["board"][4] == "...OXX..");  // d5 white (flipped by d6), e5 f5 black
}

TEST_CASE("othello cli: show diagram and refusals") {
  int rc = -1;
  std::string out = run_cli("show --moves F5D6", &rc);
  CHECK(rc == 0);
  CHECK(out.find("to move: black") != std::string::npos);
  CHECK(out.find("legal: c3 c4 c5 c6 c7") != std::string::npos);
  CHECK(out.find("2 . . . . . . . .\n3 . . * . . . . .\n4 . . * O X . . .") != std::string::npos);
  run_cli("show --moves 'f5 f5'", &rc);
  CHECK(rc == 3);
  run_cli("show --moves 'f5 xx'", &rc);
  CHECK(rc == 3);
  run_cli("show --bogus", &rc);
  CHECK(rc == 2);
}

TEST_CASE("othello cli: perft --json") {
  int rc = -1;
  auto j = nlohmann::json::parse(run_cli("perft 9 --json", &rc));
  CHECK(rc == 0);
  CHECK(j["leaves"] == 3005288);
  CHECK(j["mode"] == "bik");
  j = nlohmann::json::parse(run_cli("perft 10 --mode oeis --threads 2 --json", &rc));
  CHECK(rc == 0);
  CHECK(j["leaves"] == 24571056);
  run_cli("perft 3 --mode nope", &rc);
  CHECK(rc == 2);
}
