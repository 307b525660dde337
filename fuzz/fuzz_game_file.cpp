// Fuzzes the game-file reader (data/game_file.hpp) through an in-memory file.
// Properties: every game it hands out replays legally; it hands out exactly the header's count.
//
// Mutations of a whole file almost always break a crc32, so half the inputs (first byte odd) get
// their header and chunk crc32s recomputed first: those reach the chunk decoder and validation.
#include <cstring>

#include "data/game_file.hpp"
#include "fuzz/fuzz_common.hpp"
#include "util/checksum.hpp"

namespace {
void put_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
uint32_t get_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void repair_crcs(std::vector<uint8_t>& b) {
  using ogpt::util::crc32;
  if (b.size() < 48) return;
  put_u32(b.data() + 44, crc32(b.data(), 44));
  for (size_t at = 48; at + 12 <= b.size();) {
    uint64_t len = get_u32(b.data() + at + 4);
    if (at + 12 + len > b.size()) break;
    uint32_t c = crc32(b.data() + at, 8);
    put_u32(b.data() + at + 8, crc32(b.data() + at + 12, len, c));
    at += 12 + len;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  if (size == 0) return 0;
  std::vector<uint8_t> b(data + 1, data + size);
  if (data[0] & 1) repair_crcs(b);
  const std::string path = fuzz::bytes_as_path(b.data(), b.size());
  try {
    data::GameReader r(path);
    std::vector<data::Game> batch;
    uint64_t n = 0;
    while (r.next_batch(batch, 1000)) {
      for (auto& g : batch) fuzz::check(data::find_illegal_move(g) < 0, "illegal game handed out");
      n += batch.size();
    }
    fuzz::check(n == r.count(), "game count differs from the header");
  } catch (const UserError& e) {
    fuzz::check_refusal(e, path);
  }
  return 0;
}
