#include "model/checkpoint.hpp"

#include <cereal/archives/binary.hpp>

#include <cmath>
#include <cstring>
#include <sstream>

#include "model/import.hpp"       // shape_string
#include "model/safetensors.hpp"  // bf16 conversions
#include "util/atomic_file.hpp"
#include "util/checksum.hpp"
#include "util/error.hpp"

namespace ogpt::model {

namespace {

constexpr char kMagic[8] = {'O', 'G', 'P', 'T', 'C', 'K', 'P', 'T'};
constexpr uint32_t kVersion = 1;

}  // namespace

void save_checkpoint(const std::string& path, const ParamBlock& p, WeightDtype dtype, std::string_view extra) {
  std::ostringstream os(std::ios::binary);
  {
    cereal::BinaryOutputArchive ar(os);
    ar(cereal::binary_data(kMagic, sizeof kMagic));
    ar(kVersion);
    Config cfg = p.cfg;
    ar(cfg);
    ar(static_cast<uint8_t>(dtype));
    ar(static_cast<uint64_t>(p.specs.size()));
    std::vector<uint16_t> half;
    for (auto& s : p.specs) {
      ar(static_cast<uint64_t>(s.name.size()));
      ar(cereal::binary_data(s.name.data(), s.name.size()));
      ar(static_cast<uint32_t>(s.shape.size()));
      for (int64_t d : s.shape) ar(d);
      const float* x = p.data.data() + s.offset;
      if (dtype == WeightDtype::f32) {
        ar(cereal::binary_data(x, s.numel * sizeof(float)));
      } else {
        half.resize(s.numel);
        for (size_t i = 0; i < s.numel; ++i) half[i] = float_to_bf16(x[i]);
        ar(cereal::binary_data(half.data(), s.numel * sizeof(uint16_t)));
      }
    }
    ar(static_cast<uint64_t>(extra.size()));
    ar(cereal::binary_data(extra.data(), extra.size()));
  }
  std::string bytes = std::move(os).str();
  const uint32_t crc = util::crc32(bytes.data(), bytes.size());
  bytes.append(reinterpret_cast<const char*>(&crc), 4);
  util::write_file_atomic(path, bytes);
}

LoadedCheckpoint load_checkpoint(const std::string& path) {
  return parse_checkpoint(util::read_file(path), path);
}

LoadedCheckpoint parse_checkpoint(std::string_view bytes, const std::string& path) {
  auto fail = [&](const std::string& msg, uint64_t off) {
    return UserError(path + ": " + msg + " (byte " + std::to_string(off) + ")");
  };
  if (bytes.empty()) throw UserError(path + ": empty file (0 bytes), not a model checkpoint");
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, 8) != 0)
    throw UserError(path + ": not an othello-gpt model checkpoint (wrong magic at byte 0; to use a "
                    ".pth or .safetensors file, run `othello-gpt import` first)");
  if (bytes.size() < 16) throw fail("truncated checkpoint header", bytes.size());
  uint32_t version;
  std::memcpy(&version, bytes.data() + 8, 4);
  if (version != kVersion)
    throw fail("checkpoint format version " + std::to_string(version) + (version > kVersion ? " is newer than" : " is not") +
                   " the version this build reads (" + std::to_string(kVersion) + ")", 8);
  uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
  const uint64_t body = bytes.size() - 4;
  if (util::crc32(bytes.data(), body) != stored_crc)
    throw fail("checksum mismatch: the file is truncated or corrupted", body);

  // Config is 7 ints then 2 bools (cereal binary): a bool byte other than 0/1 is corruption, and
  // reading it into a bool would be undefined behaviour, so check before cereal does.
  constexpr size_t kBools = 12 + 7 * 4;
  if (body < kBools + 2) throw fail("truncated checkpoint header", body);
  for (size_t i = kBools; i < kBools + 2; ++i)
    if (static_cast<uint8_t>(bytes[i]) > 1) throw fail("corrupted model configuration", i);

  std::istringstream is(std::string(bytes.substr(0, body)), std::ios::binary);
  uint64_t at = 0;  // offset of the field being read, for messages
  auto remaining = [&]() { return body - static_cast<uint64_t>(is.tellg()); };
  try {
    cereal::BinaryInputArchive ar(is);
    char magic[8];
    uint32_t v;
    ar(cereal::binary_data(magic, 8), v);
    Config cfg;
    at = is.tellg();
    ar(cfg);
    if (!cfg.plausible()) throw fail("implausible model configuration", at);
    uint8_t dt;
    at = is.tellg();
    ar(dt);
    if (dt > 1) throw fail("unknown weight dtype " + std::to_string(dt), at);
    const WeightDtype dtype = static_cast<WeightDtype>(dt);
    const size_t es = dtype == WeightDtype::f32 ? 4 : 2;
    if (param_count(cfg) * es > body) throw fail("configuration " + cfg.describe() + " does not fit the file", at);
    LoadedCheckpoint out{ParamBlock(cfg), dtype, {}};
    uint64_t count;
    at = is.tellg();
    ar(count);
    if (count != out.params.specs.size())
      throw fail(std::to_string(count) + " tensors, a " + cfg.describe() + " model has " +
                     std::to_string(out.params.specs.size()), at);
    std::vector<uint16_t> half;
    for (auto& s : out.params.specs) {
      uint64_t n;
      at = is.tellg();
      ar(n);
      if (n > 256 || n > remaining()) throw fail("bad tensor name length", at);
      std::string name(n, '\0');
      ar(cereal::binary_data(name.data(), n));
      uint32_t rank;
      ar(rank);
      if (rank > 8) throw fail("bad rank for tensor '" + name + "'", at);
      std::vector<int64_t> shape(rank);
      for (auto& d : shape) ar(d);
      if (name != s.name || shape != s.shape)
        throw fail("tensor '" + name + "' " + shape_string(shape) + " where '" + s.name + "' " +
                       shape_string(s.shape) + " was expected", at);
      at = is.tellg();
      if (s.numel * es > remaining()) throw fail("truncated in tensor '" + name + "'", at);
      float* x = out.params.data.data() + s.offset;
      if (dtype == WeightDtype::f32) {
        ar(cereal::binary_data(x, s.numel * 4));
      } else {
        half.resize(s.numel);
        ar(cereal::binary_data(half.data(), s.numel * 2));
        for (size_t i = 0; i < s.numel; ++i) x[i] = bf16_to_float(half[i]);
      }
      // A diverged run's weights pass every checksum; every command would then print NaN.
      for (size_t i = 0; i < s.numel; ++i)
        if (!std::isfinite(x[i]))
          throw fail("tensor '" + name + "' holds a non-finite value (" + std::to_string(x[i]) + ") at element " +
                         std::to_string(i) + ": the weights of a diverged run?",
                     at + i * es);
    }
    uint64_t n;
    at = is.tellg();
    ar(n);
    if (n != remaining()) throw fail("extra blob of " + std::to_string(n) + " bytes does not end the file", at);
    out.extra.resize(n);
    ar(cereal::binary_data(out.extra.data(), n));
    return out;
  } catch (const cereal::Exception& e) {
    throw fail("truncated or malformed checkpoint (" + std::string(e.what()) + ")", at);
  }
}

}  // namespace ogpt::model
