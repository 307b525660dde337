// Fuzzes the .pth reader (zip + the pickle subset of state dicts). Properties: it never runs
// anything (there is nothing to run: the interpreter only builds tensors and containers), each
// tensor's data matches its shape, and every refusal names the file.
#include "fuzz/fuzz_common.hpp"
#include "model/pth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  const std::string name = "fuzz.pth";
  try {
    auto f = model::parse_pth(std::string_view(reinterpret_cast<const char*>(data), size), name);
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
