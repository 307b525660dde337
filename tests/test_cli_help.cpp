// Every subcommand answers --help (exit 0) with its usage line and at least one option, and the
// top-level help lists every subcommand: a subcommand added without help text shows here.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli_run.hpp"

TEST_CASE("cli: the top-level help lists the subcommands, and each answers --help with its usage and options") {
  int rc = -1;
  const std::string top = ogpt::test::run_cli("--help", &rc);
  REQUIRE(rc == 0);
  const size_t at = top.find("Subcommands:");
  REQUIRE(at != std::string::npos);
  std::vector<std::string> subs;
  std::istringstream lines(top.substr(at));
  std::string line;
  std::getline(lines, line);  // "Subcommands:"
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string name, rest;
    if (!(words >> name)) continue;
    std::getline(words, rest);
    CHECK_MESSAGE(rest.find_first_not_of(' ') != std::string::npos, name << " has no description");
    subs.push_back(name);
  }
  for (const char* expected : {"train", "eval", "probe", "intervene", "average", "widen", "tour", "serve"})
    CHECK_MESSAGE(std::find(subs.begin(), subs.end(), expected) != subs.end(), expected << " not listed");
  CHECK(subs.size() >= 17);
  for (const auto& s : subs) {
    const std::string help = ogpt::test::run_cli(s + " --help", &rc);
    CHECK_MESSAGE(rc == 0, s);
    CHECK_MESSAGE(help.find("Usage:") != std::string::npos, s);
    CHECK_MESSAGE(help.find("-h,--help") != std::string::npos, s);
  }
}
