#pragma once
// Helpers for the fault tests (tests/test_faults_*.cpp): run the real CLI binary (OGPT_CLI) as a
// child process, kill it with SIGKILL at a chosen moment, or run it under a file-size limit or as
// an unprivileged user; scratch directories; whole-file comparison.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ogpt::faults {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed (with its contents) at scope end.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& tag) {
    std::string tmpl = (fs::temp_directory_path() / ("ogpt-" + tag + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// How the child is started: extra set-up run in the child between fork and exec.
struct ChildSetup {
  rlim_t fsize_limit = 0;  // > 0: RLIMIT_FSIZE in bytes (writes past it fail with EFBIG)
  bool as_nobody = false;  // drop root to uid/gid 65534 so directory permissions bind
  rlim_t as_limit = 0;     // > 0: RLIMIT_AS in bytes (a reader that over-allocates fails)
};

// ASan reserves terabytes of address space, so RLIMIT_AS cannot be used under it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// Starts OGPT_CLI with `args`; stdout goes to /dev/null, stderr to `stderr_path` (or /dev/null).
inline pid_t spawn_cli(const std::vector<std::string>& args, const std::string& stderr_path = "",
                       ChildSetup setup = {}) {
  std::vector<std::string> argv_s = {OGPT_CLI};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    int err = stderr_path.empty() ? devnull : ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(err, 2);
    if (setup.fsize_limit > 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills the writer; ignored, write() fails EFBIG
      rlimit r{setup.fsize_limit, setup.fsize_limit};
      ::setrlimit(RLIMIT_FSIZE, &r);
    }
    if (setup.as_limit > 0) {
      rlimit r{setup.as_limit, setup.as_limit};
      ::setrlimit(RLIMIT_AS, &r);
    }
    if (setup.as_nobody && ::geteuid() == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(126);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for the child; returns its exit code, or 128 + signal if it was killed.
inline int wait_child(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

struct CliResult {
  int code;
  std::string err;
  double seconds;
};

// Runs the CLI to completion.
inline CliResult run_cli(const std::vector<std::string>& args, const std::string& scratch_dir,
                         ChildSetup setup = {}) {
  std::string errp = scratch_dir + "/stderr.txt";
  auto t0 = std::chrono::steady_clock::now();
  int code = wait_child(spawn_cli(args, errp, setup));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string err = slurp(errp);
  std::remove(errp.c_str());
  return {code, err, s};
}

// Starts the CLI and sends SIGKILL after `delay_s` (if it is still running). Returns the exit
// status as wait_child does (137 when the kill landed, 0 if it finished first).
inline int run_cli_killed_after(const std::vector<std::string>& args, double delay_s) {
  pid_t pid = spawn_cli(args);
  std::this_thread::sleep_for(std::chrono::duration<double>(delay_s));
  ::kill(pid, SIGKILL);
  return wait_child(pid);
}

// Files in `dir` whose name contains ".tmp." (temporaries a killed writer left behind).
inline std::vector<std::string> temp_leftovers(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) out.push_back(e.path().string());
  return out;
}

// Deterministic kill moments spread over [0, 1.2 * span): a different moment each time, the
// same from run to run (so a failure can be reproduced), some after the writer would finish.
inline double kill_moment(int i, int n, double span_s, uint64_t salt) {
  uint64_t h = (salt + static_cast<uint64_t>(i)) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 31;
  double jitter = static_cast<double>(h % 1000) / 1000.0;
  return span_s * 1.2 * (i + jitter) / n;
}

}  // namespace ogpt::faults
