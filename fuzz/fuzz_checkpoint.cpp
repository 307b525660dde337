// Fuzzes the checkpoint reader (model/checkpoint.hpp) through an in-memory file. Properties: a
// loaded checkpoint's parameter block matches its config; every refusal names the file.
//
// The file ends with a crc32 of every byte before it; half the inputs (first byte odd) get it
// recomputed so that mutations reach the decoder.
#include <cstring>

#include "fuzz/fuzz_common.hpp"
#include "model/checkpoint.hpp"
#include "util/checksum.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  if (size == 0) return 0;
  std::vector<uint8_t> b(data + 1, data + size);
  if ((data[0] & 1) && b.size() >= 4) {
    uint32_t c = util::crc32(b.data(), b.size() - 4);
    std::memcpy(b.data() + b.size() - 4, &c, 4);
  }
  const std::string path = fuzz::bytes_as_path(b.data(), b.size());
  try {
    auto c = model::load_checkpoint(path);
    fuzz::check(c.params.data.size() == model::param_count(c.params.cfg), "params differ from config");
  } catch (const UserError& e) {
    fuzz::check_refusal(e, path);
  }
  return 0;
}
