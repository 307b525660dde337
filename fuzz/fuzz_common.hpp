#pragma once
// Shared by the fuzz targets. Contract under test: a reader of outside data either returns a
// value or throws ogpt::UserError. Any other exception escapes LLVMFuzzerTestOneInput, which
// aborts and libFuzzer reports it as a crash; so do sanitizer reports, hangs and huge allocations.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "util/checksum.hpp"
#include "util/error.hpp"

namespace ogpt::fuzz {

// For readers that only take a path: the bytes go to an in-memory file (memfd), reached as
// /proc/self/fd/N, so no disk is touched and every open starts at offset 0.
inline std::string bytes_as_path(const uint8_t* data, size_t size) {
  static int fd = [] {
    int f = ::memfd_create("ogpt-fuzz", 0);
    if (f < 0) std::abort();
    return f;
  }();
  if (::ftruncate(fd, 0) != 0) std::abort();
  size_t done = 0;
  while (done < size) {
    ssize_t w = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (w <= 0) std::abort();
    done += static_cast<size_t>(w);
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

// For readers of the 24-byte header of probe and case files (magic, version, crc32 of the payload
// at byte 12, payload length at 16): the file is the input after its first byte; when that byte
// is odd and there is a header, the crc32 and the length are mended so that mutations reach the
// payload instead of stopping at the checksum.
inline std::string file_with_mended_header(const uint8_t* data, size_t size) {
  if (size == 0) return {};
  std::string b(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) && b.size() >= 24) {
    const uint64_t len = b.size() - 24;
    const uint32_t crc = util::crc32(b.data() + 24, len);
    std::memcpy(b.data() + 12, &crc, 4);
    std::memcpy(b.data() + 16, &len, 8);
  }
  return b;
}

// A property the reader promised but broke: report it as a crash with a message.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

// A refusal must be one line that names the file (so the CLI's "othello-gpt: <message>" is
// readable and points at the input). Raw bytes from the input echoed into it would break that.
inline void check_refusal(const UserError& e, const std::string& name) {
  std::string m = e.what();
  static const bool verbose = std::getenv("OGPT_FUZZ_VERBOSE") != nullptr;  // to replay one input
  if (verbose) std::fprintf(stderr, "refused: %s\n", m.c_str());
  if (!name.empty() && m.find(name) == std::string::npos) {
    std::fprintf(stderr, "refusal does not name the file %s: %s\n", name.c_str(), m.c_str());
    std::abort();
  }
  // Control bytes copied from the input (a JSON parser's "last read", a pickle global's name)
  // are a known gap, best closed once where messages are printed: reported once per run, fatal
  // only with OGPT_FUZZ_STRICT_MESSAGES=1 so that they do not hide deeper findings.
  static const bool strict = std::getenv("OGPT_FUZZ_STRICT_MESSAGES") != nullptr;
  static bool reported = false;
  for (unsigned char c : m)
    if (c < 0x20 || c == 0x7f) {
      if (strict || !reported) std::fprintf(stderr, "GAP: refusal has a control byte 0x%02x: %s\n", c, m.c_str());
      if (strict) std::abort();
      reported = true;
      break;
    }
}

}  // namespace ogpt::fuzz
