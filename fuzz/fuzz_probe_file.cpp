// Fuzzes the probe-file reader (probes/probe_file.hpp). The payload is guarded by a length and a
// crc32 in the header; half the inputs (first byte odd) get both repaired so that mutations reach
// the cereal payload. Properties: a loaded probe's matrices match its declared shape.
#include <cstring>

#include "fuzz/fuzz_common.hpp"
#include "probes/probe_file.hpp"
#include "util/checksum.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  if (size == 0) return 0;
  std::string b(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) && b.size() >= 24) {
    const uint64_t len = b.size() - 24;
    const uint32_t crc = util::crc32(b.data() + 24, len);
    std::memcpy(b.data() + 12, &crc, 4);
    std::memcpy(b.data() + 16, &len, 8);
  }
  const std::string name = "fuzz.probe";
  try {
    auto p = probes::probe_from_bytes(b, name);
    fuzz::check(p.W.n_rows == static_cast<arma::uword>(p.rows()), "W rows differ from 64*C");
    fuzz::check(p.b.n_elem == static_cast<arma::uword>(p.rows()), "b size differs from 64*C");
  } catch (const UserError& e) {
    fuzz::check_refusal(e, name);
  }
  return 0;
}
