#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace ogpt::util {

static std::string dir_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

namespace {
// Where a write of `path` lands; AtomicWriter and check_writable both ask here, so the check
// refuses exactly what the write would.
struct Destination {
  std::string path;     // the file to replace: `path`, or the file a link points to
  bool direct = false;  // a device or pipe: written in place, no temporary
};

Destination resolve_destination(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw IoError("cannot write to an empty path");
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // of what a link points to
  if (fs::is_directory(st)) throw IoError("cannot write " + path + ": is a directory");
  // A device or pipe (/dev/null, /dev/stdout, a fifo), or a link to one: written in place.
  // Renaming a temporary over it would replace the node itself (as root, /dev/null).
  if (fs::exists(st) && !fs::is_regular_file(st)) return {path, true};
  // A symlink to a file: replace its target (renaming over the link would replace the link by a
  // plain file and leave the target as it was).
  if (fs::is_symlink(path, ec)) {
    const fs::path target = fs::weakly_canonical(path, ec);
    if (ec) throw IoError("cannot write " + path + ": cannot resolve the link: " + ec.message());
    return {target.string(), false};
  }
  return {path, false};
}
}  // namespace

// Temporaries being written, for the SIGINT/SIGTERM handler: Ctrl-C during a long write (a
// `generate` of millions of games) removes the half-written temporary instead of leaving
// gigabytes behind. Fixed storage, and only unlink() in the handler: both async-signal-safe.
// Where a command installs its own handler (train's stop-at-the-next-step), that one stays.
namespace {
constexpr int kLiveSlots = 16;
char g_live_path[kLiveSlots][4096];
std::atomic<bool> g_live_used[kLiveSlots];

extern "C" void remove_live_temporaries(int sig) {
  for (int i = 0; i < kLiveSlots; ++i)
    if (g_live_used[i].load(std::memory_order_acquire)) ::unlink(g_live_path[i]);
  ::signal(sig, SIG_DFL);
  ::raise(sig);  // the default action: the exit status still says which signal ended it
}

void install_cleanup_handler_once() {
  static std::atomic<bool> done{false};
  if (done.exchange(true)) return;
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
      struct sigaction sa {};
      sa.sa_handler = remove_live_temporaries;
      sigemptyset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
  }
}

int register_live(const std::string& tmp) {  // -1: no slot or too long (then only the destructor cleans)
  if (tmp.size() >= sizeof g_live_path[0]) return -1;
  install_cleanup_handler_once();
  for (int i = 0; i < kLiveSlots; ++i) {
    if (g_live_used[i].load(std::memory_order_relaxed)) continue;
    std::memcpy(g_live_path[i], tmp.c_str(), tmp.size() + 1);
    g_live_used[i].store(true, std::memory_order_release);
    return i;
  }
  return -1;
}

void unregister_live(int slot) {
  if (slot >= 0) g_live_used[slot].store(false, std::memory_order_release);
}
}  // namespace

AtomicWriter::AtomicWriter(std::string path) : path_(std::move(path)) {
  const Destination d = resolve_destination(path_);
  if (d.direct) {
    direct_ = true;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw IoError("cannot write " + path_ + ": " + std::strerror(errno));
    return;
  }
  path_ = d.path;
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw IoError("cannot write " + path_ + ": " + std::strerror(errno));
  live_slot_ = register_live(tmp_);
}

AtomicWriter::~AtomicWriter() {
  if (!committed_) {
    if (fd_ >= 0) ::close(fd_);
    if (!direct_) ::unlink(tmp_.c_str());
  }
  unregister_live(live_slot_);
}

void AtomicWriter::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot write " + path_ + ": " + std::strerror(errno) +
                    " (the previous file, if any, is kept)");
    }
    p += w;
    n -= static_cast<size_t>(w);
    written_ += static_cast<uint64_t>(w);
  }
}

// Removes "<path>.tmp.<pid>" files of `path` whose writer process no longer exists: what a kill -9
// or power loss mid-write leaves behind. Only this destination's temporaries are touched, and
// only those of dead processes (a live pid may be another writer at work, or a reused pid: kept).
static void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string base = fs::path(path).filename().string() + ".tmp.";
  std::error_code ec;
  for (fs::directory_iterator it(dir_of(path), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= base.size() || name.compare(0, base.size(), base) != 0) continue;
    const std::string digits = name.substr(base.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == -1 && errno == ESRCH) fs::remove(it->path(), ec);
  }
}

void AtomicWriter::commit() {
  if (direct_) {  // nothing to rename (and fsync fails on pipes)
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) throw IoError("cannot write " + path_ + ": " + std::strerror(errno));
    committed_ = true;
    return;
  }
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    fd_ = -1;
    throw IoError("cannot write " + path_ + ": " + std::strerror(errno) +
                  " (the previous file, if any, is kept)");
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw IoError("cannot rename " + tmp_ + " to " + path_ + ": " + std::strerror(errno));
  committed_ = true;
  unregister_live(live_slot_);  // the name is the user's file now: a signal must not remove it
  live_slot_ = -1;
  remove_stale_temporaries(path_);
  int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicWriter w(path);
  w.write(bytes.data(), bytes.size());
  w.commit();
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw IoError(path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError("cannot read " + path);
  return std::move(ss).str();
}

void check_writable(const std::string& path) {
  namespace fs = std::filesystem;
  const Destination d = resolve_destination(path);
  if (d.direct) {  // opened in place by the write
    if (::access(path.c_str(), W_OK) != 0) throw IoError("cannot write " + path + ": " + std::strerror(errno));
    return;
  }
  const std::string dir = dir_of(d.path);  // where the write's temporary goes
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IoError("cannot write " + path + ": " + dir + (fs::exists(dir, ec) ? " is not a directory" : " does not exist"));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw IoError("cannot write " + path + ": " + dir + ": " + std::strerror(errno));
}

void ensure_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (fs::exists(dir, ec)) throw IoError(dir + ": exists and is not a directory");
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create directory " + dir + ": " + ec.message());
}

}  // namespace ogpt::util
