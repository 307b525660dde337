// Fuzzes the safetensors reader. Properties: each tensor's data matches its shape; writing the
// result and reading it back gives the same tensors.
#include "fuzz/fuzz_common.hpp"
#include "model/safetensors.hpp"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  const std::string name = "fuzz.safetensors";
  model::SafetensorsFile f;
  try {
    f = model::parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), name);
  } catch (const UserError& e) {
    fuzz::check_refusal(e, name);
    return 0;
  }
  for (auto& [k, t] : f.tensors) {
    uint64_t numel = 1;
    for (auto d : t.shape) {
      fuzz::check(d >= 0, "negative dimension");
      numel *= static_cast<uint64_t>(d);
    }
    fuzz::check(numel == t.data.size(), "data size differs from the shape");
  }
  auto again = model::parse_safetensors(model::encode_safetensors(f.tensors, f.metadata), "again");
  fuzz::check(again.tensors.size() == f.tensors.size(), "round trip tensor count");
  for (auto& [k, t] : f.tensors) {
    const auto& u = again.tensors.at(k);
    fuzz::check(u.shape == t.shape, "round trip shape");
    fuzz::check(std::memcmp(u.data.data(), t.data.data(), 4 * t.data.size()) == 0, "round trip data");
  }
  return 0;
}
