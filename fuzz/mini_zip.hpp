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

inline std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
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
    u32(dir, 0x02014b50u), u16(dir, 20), u16(dir, 20), u16(dir, 0), u16(dir, 0), u32(dir, 0), u32(dir, crc);
    u32(dir, static_cast<uint32_t>(data.size())), u32(dir, static_cast<uint32_t>(data.size()));
    u16(dir, static_cast<uint32_t>(name.size())), u16(dir, 0), u16(dir, 0), u16(dir, 0), u16(dir, 0);
    u32(dir, 0), u32(dir, at);
    dir += name;
  }
  const uint32_t cd_at = static_cast<uint32_t>(out.size());
  out += dir;
  u32(out, 0x06054b50u), u16(out, 0), u16(out, 0), u16(out, static_cast<uint32_t>(entries.size()));
  u16(out, static_cast<uint32_t>(entries.size())), u32(out, static_cast<uint32_t>(dir.size())), u32(out, cd_at);
  u16(out, 0);
  return out;
}

}  // namespace ogpt::fuzz
