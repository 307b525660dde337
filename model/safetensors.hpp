#pragma once
// safetensors (Hugging Face): u64 little-endian header length N, N bytes of JSON
//   {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<string>"}}
// then the raw little-endian tensor bytes; offsets are relative to the end of the header.
// A plain format with no code in it, which is why the project prefers it to .pth.
//
// Reading converts every tensor to f32 (F32, F16, BF16, F64, and BOOL/U8/I8/I16/I32/I64 for the
// buffers some state dicts carry). Every inconsistency (short file, header length past the end,
// bad JSON, unknown dtype, offsets out of bounds or not matching the shape) is a UserError that
// names the file and the byte offset. Writing is f32 only and atomic (util/atomic_file.hpp).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "model/gpt.hpp"  // Tensor

namespace ogpt::model {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;         // converted to f32
  std::map<std::string, std::string> dtypes;     // the stored dtype of each tensor ("BF16", ...)
  std::map<std::string, std::string> metadata;   // "__metadata__"
};

// `bytes` is a whole file; `what` names it in error messages.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& what);
SafetensorsFile load_safetensors(const std::string& path);
// Convenience: just the tensors.
std::map<std::string, Tensor> read_safetensors(const std::string& path);

// Writes f32 tensors (sorted by name) atomically.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
std::string encode_safetensors(const std::map<std::string, Tensor>& tensors,
                               const std::map<std::string, std::string>& metadata = {});

// Stored dtypes by safetensors name ("F32", "BF16", "BOOL", ...): bytes per value (0 = unknown),
// and conversion of n little-endian values to f32. Shared with the .pth reader.
size_t dtype_size(const std::string& dtype);
void dtype_to_f32(float* out, const char* src, size_t n, const std::string& dtype);

// Scalar conversions shared by the readers (IEEE half, bfloat16).
float half_to_float(uint16_t h);
inline float bf16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
// Round to nearest even; NaN stays NaN (quiet).
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

}  // namespace ogpt::model
