// Fuzzes the probe-file reader (probes/probe_file.hpp). The payload is guarded by a length and a
// crc32 in the header; half the inputs (first byte odd) get both repaired so that mutations reach
// the cereal payload. Properties: a loaded probe's matrices match its declared shape.
#include "fuzz/fuzz_common.hpp"
#include "probes/probe_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  if (size == 0) return 0;
  const std::string b = fuzz::file_with_mended_header(data, size);
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
