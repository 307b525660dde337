#include "model/safetensors.hpp"

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "util/atomic_file.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

namespace ogpt::model {

using json = nlohmann::json;

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);  // inf / nan
  } else if (exp != 0) {
    u = sign | ((exp + 112) << 23) | (mant << 13);  // 112 = 127 - 15
  } else if (mant == 0) {
    u = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while (!(mant & 0x400u));
    u = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace {

struct DtypeInfo {
  const char* name;
  size_t size;
};
constexpr DtypeInfo kDtypes[] = {{"F32", 4}, {"F16", 2},  {"BF16", 2}, {"F64", 8}, {"BOOL", 1},
                                 {"U8", 1},  {"I8", 1},   {"I16", 2},  {"I32", 4}, {"I64", 8}};


}  // namespace

size_t dtype_size(const std::string& dtype) {
  for (auto& d : kDtypes)
    if (dtype == d.name) return d.size;
  return 0;
}

void dtype_to_f32(float* out, const char* src, size_t n, const std::string& dt) {
  if (n == 0) return;  // out may be null for an empty tensor
  if (dt == "F32") {
    std::memcpy(out, src, n * 4);
  } else if (dt == "F16") {
    for (size_t i = 0; i < n; ++i) out[i] = half_to_float(util::load_le<uint16_t>(src + 2 * i));
  } else if (dt == "BF16") {
    for (size_t i = 0; i < n; ++i) out[i] = bf16_to_float(util::load_le<uint16_t>(src + 2 * i));
  } else if (dt == "F64") {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(util::load_le<double>(src + 8 * i));
  } else if (dt == "BOOL" || dt == "U8") {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(src[i]);
  } else if (dt == "I8") {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<int8_t>(src[i]);
  } else if (dt == "I16") {
    for (size_t i = 0; i < n; ++i) out[i] = util::load_le<int16_t>(src + 2 * i);
  } else if (dt == "I32") {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(util::load_le<int32_t>(src + 4 * i));
  } else {  // I64
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(util::load_le<int64_t>(src + 8 * i));
  }
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& what) {
  auto fail = [&](const std::string& msg, uint64_t offset) -> UserError {
    return UserError(what + ": " + msg + " (byte " + std::to_string(offset) + ")");
  };
  if (bytes.size() < 8)
    throw fail("not a safetensors file: " + std::to_string(bytes.size()) +
                   " bytes, shorter than the 8-byte header length", 0);
  const uint64_t n = util::load_le<uint64_t>(bytes.data());
  if (n > bytes.size() - 8)
    throw fail("header length " + std::to_string(n) + " runs past the end of the file (" +
                   std::to_string(bytes.size()) + " bytes; truncated, or not safetensors)", 0);
  json header;
  try {
    header = json::parse(bytes.substr(8, n));
  } catch (const json::parse_error& e) {
    throw fail("bad JSON header: " + std::string(e.what()), 8 + (e.byte > 0 ? e.byte - 1 : 0));
  }
  if (!header.is_object()) throw fail("header is not a JSON object", 8);
  const uint64_t data_start = 8 + n;
  const uint64_t data_size = bytes.size() - data_start;

  SafetensorsFile f;
  for (auto& item : header.items()) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in the lambda below.
    const std::string& name = item.key();
    auto& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object", 8);
      for (auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw fail("__metadata__." + k + " is not a string", 8);
        f.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& why) { return fail("tensor '" + name + "': " + why, 8); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      throw bad("needs dtype, shape and data_offsets");
    if (!entry["dtype"].is_string()) throw bad("dtype is not a string");
    const std::string dt = entry["dtype"].get<std::string>();
    const DtypeInfo* info = nullptr;
    for (auto& d : kDtypes)
      if (dt == d.name) info = &d;
    if (!info) throw bad("unsupported dtype '" + dt + "'");
    const json& shape = entry["shape"];
    const json& offs = entry["data_offsets"];
    if (!shape.is_array()) throw bad("shape is not an array");
    Tensor t;
    uint64_t numel = 1;
    for (auto& d : shape) {
      if (!d.is_number_unsigned()) throw bad("shape has a non-integer or negative dimension");
      uint64_t v = d.get<uint64_t>();
      if (v != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / v)
        throw bad("shape is absurdly large");
      numel *= v;
      t.shape.push_back(static_cast<int64_t>(v));
    }
    if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() ||
        !offs[1].is_number_unsigned())
      throw bad("data_offsets is not [begin, end]");
    const uint64_t b = offs[0].get<uint64_t>(), e = offs[1].get<uint64_t>();
    if (b > e || e > data_size)
      throw fail("tensor '" + name + "': data [" + std::to_string(b) + ", " + std::to_string(e) +
                     ") lies outside the " + std::to_string(data_size) +
                     "-byte data area (truncated file?)",
                 data_start + std::min(b, data_size));
    if (e - b != numel * info->size)
      throw fail("tensor '" + name + "': " + std::to_string(e - b) + " bytes for " +
                     std::to_string(numel) + " " + dt + " values",
                 data_start + b);
    t.data.resize(numel);
    dtype_to_f32(t.data.data(), bytes.data() + data_start + b, numel, dt);
    f.dtypes[name] = dt;
    f.tensors.emplace(name, std::move(t));
  }
  return f;
}

SafetensorsFile load_safetensors(const std::string& path) {
  return parse_safetensors(util::read_file(path), path);
}

std::map<std::string, Tensor> read_safetensors(const std::string& path) {
  return load_safetensors(path).tensors;
}

namespace {
std::string make_header(const std::map<std::string, Tensor>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  json h = json::object();
  uint64_t off = 0;
  for (auto& [name, t] : tensors) {
    uint64_t numel = 1;
    for (auto d : t.shape) numel *= static_cast<uint64_t>(d);
    if (numel != t.data.size())
      throw UserError("tensor '" + name + "': shape holds " + std::to_string(numel) +
                      " values but it has " + std::to_string(t.data.size()), kInternal);
    h[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {off, off + 4 * numel}}};
    off += 4 * numel;
  }
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::string s = h.dump();
  s.append((8 - s.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned, as the reference does
  return s;
}
}  // namespace

std::string encode_safetensors(const std::map<std::string, Tensor>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  const std::string h = make_header(tensors, metadata);
  std::string out;
  const uint64_t n = h.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += h;
  for (auto& [name, t] : tensors)
    out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * 4);
  return out;
}

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string h = make_header(tensors, metadata);
  const uint64_t n = h.size();
  util::AtomicWriter w(path);
  w.write(&n, 8);
  w.write(h.data(), h.size());
  for (auto& [name, t] : tensors) w.write(t.data.data(), t.data.size() * 4);
  w.commit();
}

}  // namespace ogpt::model
