#pragma once
// The project's own model file: one cereal binary archive, written atomically.
//
// Layout (little-endian, cereal PortableBinary-free plain binary of these fields in order):
//   magic "OGPTCKPT" (8 bytes) | u32 format version | Config | u8 weight dtype (0 f32, 1 bf16)
//   | u64 tensor count | per tensor: name, shape, raw data (f32 or bf16 as u16)
//   | extra blob (opaque bytes; the trainer keeps optimizer state there)
//   | u32 crc32 of every byte before it.
// bf16 weights are the round-to-nearest-even of the f32 master; loading widens them back to f32.
// Every refusal (truncated, corrupted, wrong magic, newer version) is a UserError naming the file.
#include <string>
#include <string_view>

#include "model/params.hpp"

namespace ogpt::model {

enum class WeightDtype { f32, bf16 };

void save_checkpoint(const std::string& path, const ParamBlock& p, WeightDtype dtype,
                     std::string_view extra = {});

struct LoadedCheckpoint {
  ParamBlock params;
  WeightDtype dtype;
  std::string extra;
};

LoadedCheckpoint load_checkpoint(const std::string& path);  // throws UserError on a bad file
// The same from the bytes of a whole file; `what` names it in error messages.
LoadedCheckpoint parse_checkpoint(std::string_view bytes, const std::string& what);

}  // namespace ogpt::model
