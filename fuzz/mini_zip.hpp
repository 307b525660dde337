#pragma once
// A minimal zip writer (stored entries only, no zip64): enough to wrap a hand-made or fuzzed
// data.pkl into an archive shaped like torch.save's, with correct crc32s, so that the pickle
// interpreter behind model::parse_pth is reached. Used by fuzz_pickle and tests/test_faults_pickle.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/checksum.hpp"

namespace ogpt::fuzz {

// A lie for the central directory (hostile-input tests): the entry named `name` claims this
// compression method and uncompressed size (a zip64 extra field carries a size >= 2^32).
struct ZipLie {
  std::string name;
  uint16_t method = 0;
  uint64_t usize = 0;
};

inline std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries,
                            const ZipLie& lie = {}) {
  auto u16 = [](std::string& s, uint32_t v) { s += char(v & 0xff), s += char((v >> 8) & 0xff); };
  auto u32 = [&](std::string& s, uint32_t v) { u16(s, v & 0xffff), u16(s, v >> 16); };
  std::string out, dir;
  for (auto& [name, data] : entries) {
    const uint32_t crc = util::crc32(data.data(), data.size()), at = static_cast<uint32_t>(out.size());
    u32(out, 0x04034b50u), u16(out, 20), u16(out, 0), u16(out, 0), u32(out, 0), u32(out, crc);
    u32(out, static_cast<uint32_t>(data.size())), u32(out, static_cast<uint32_t>(data.size()));
    u16(out, static_cast<uint32_t>(name.size())), u16(out, 0);
    out += name;
    out += data;
    const bool lied = name == lie.name, big = lied && lie.usize >= 0xffffffffu;
    const uint64_t usize = lied ? lie.usize : data.size();
    u32(dir, 0x02014b50u), u16(dir, 20), u16(dir, 20), u16(dir, 0), u16(dir, lied ? lie.method : 0);
    u32(dir, 0), u32(dir, crc), u32(dir, static_cast<uint32_t>(data.size()));
    u32(dir, big ? 0xffffffffu : static_cast<uint32_t>(usize));
    u16(dir, static_cast<uint32_t>(name.size())), u16(dir, big ? 12 : 0), u16(dir, 0), u16(dir, 0), u16(dir, 0);
    u32(dir, 0), u32(dir, at);
    dir += name;
    if (big) {  // zip64 extra field: id 1, 8 bytes, the uncompressed size
      u16(dir, 1), u16(dir, 8), u32(dir, static_cast<uint32_t>(usize)), u32(dir, static_cast<uint32_t>(usize >> 32));
    }
  }
  const uint32_t cd_at = static_cast<uint32_t>(out.size());
  out += dir;
  u32(out, 0x06054b50u), u16(out, 0), u16(out, 0), u16(out, static_cast<uint32_t>(entries.size()));
  u16(out, static_cast<uint32_t>(entries.size())), u32(out, static_cast<uint32_t>(dir.size())), u32(out, cd_at);
  u16(out, 0);
  return out;
}

}  // namespace ogpt::fuzz
