// Fuzzes the pickle interpreter behind model::parse_pth directly: the input becomes data.pkl of a
// well-formed zip (correct crc32s, which mutations of a whole .pth would mostly break) beside two
// small storages, "0" (64 bytes) and "1" (8 bytes). Properties as fuzz_pth.
#include "fuzz/fuzz_common.hpp"
#include "fuzz/mini_zip.hpp"
#include "model/pth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  const std::string name = "fuzz.pth";
  std::string pkl(reinterpret_cast<const char*>(data), size), s0(64, '\0'), s1(8, '\x3f');
  for (int i = 0; i < 64; ++i) s0[i] = static_cast<char>(i * 7);
  const std::string zip = fuzz::make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", s0}, {"archive/data/1", s1}});
  try {
    auto f = model::parse_pth(zip, name);
    for (auto& [k, t] : f.tensors) {
      uint64_t numel = 1;
      for (auto d : t.shape) {
        fuzz::check(d >= 0, "negative dimension");
        numel *= static_cast<uint64_t>(d);
      }
      fuzz::check(numel == t.data.size(), "data size differs from the shape");
    }
  } catch (const UserError& e) {
    fuzz::check_refusal(e, name);
  }
  return 0;
}
