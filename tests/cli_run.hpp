#pragma once
// Runs the built othello-gpt binary (OGPT_CLI) for end-to-end tests.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace ogpt::test {

// Returns the command's stdout (with stderr too when merge_stderr; otherwise stderr is
// discarded) and puts its exit code in *rc (-1 if it did not exit normally).
inline std::string run_cli(const std::string& args, int* rc, bool merge_stderr = false) {
  const std::string cmd = std::string(OGPT_CLI) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  const int status = pclose(f);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace ogpt::test
