#pragma once
// Benchmark case-set files, so a set can be kept, shared and rerun without re-sampling.
//
// Layout (little-endian):
//   bytes 0..7    magic "OGPTCASE"
//   bytes 8..11   format version (u32, currently 1)
//   bytes 12..15  crc32 of the payload (util/checksum.hpp)
//   bytes 16..23  payload length in bytes (u64)
//   bytes 24..    payload: u32 case count, then per case
//                 u8 kind (0 flip, 1 erase) | u8 set (0 reachable, 1 unreachable) | u8 proven
//                 | u8 target (0 empty, 1 mine, 2 theirs) | u8 cell (0..63) | u8 n (1..59) | n squares
// Written atomically. A truncated, corrupted, wrong-version or ill-formed file (including an
// illegal game prefix) is refused with a UserError naming the file and the byte offset.
#include <string>
#include <vector>

#include "interventions/cases.hpp"

namespace ogpt::interventions {

inline constexpr char kCaseMagic[8] = {'O', 'G', 'P', 'T', 'C', 'A', 'S', 'E'};
inline constexpr uint32_t kCaseVersion = 1;

std::string cases_to_bytes(const std::vector<EditCase>& cases);
std::vector<EditCase> cases_from_bytes(const std::string& bytes, const std::string& name);  // name: for messages
void save_cases(const std::string& path, const std::vector<EditCase>& cases);
std::vector<EditCase> load_cases(const std::string& path);

}  // namespace ogpt::interventions
