// Model files: safetensors, .pth (zip + safe pickle subset), TransformerLens import, checkpoints.
// Fixtures come from scripts/make_reference.py (tests/fixtures/reference/).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace ogpt;
using namespace ogpt::model;

namespace {
const std::string kFix = std::string(OGPT_SOURCE_DIR) + "/tests/fixtures/reference/";

std::string temp_path(const std::string& name) {
  return "/tmp/ogpt_test_files_" + std::to_string(::getpid()) + "_" + name;
}

// Every way of cutting a file short must be refused with a UserError, never crash.
template <class F>
void check_truncations_refused(const std::string& bytes, F parse, size_t step = 1) {
  for (size_t n = 0; n < bytes.size(); n += step) {
    INFO("truncated to " << n << " of " << bytes.size() << " bytes");
    CHECK_THROWS_AS(parse(std::string_view(bytes).substr(0, n)), UserError);
  }
}
}  // namespace

TEST_CASE("safetensors: half and bfloat16 conversions") {
  CHECK(half_to_float(0x3c00) == 1.0f);
  CHECK(half_to_float(0xc000) == -2.0f);
  CHECK(half_to_float(0x7bff) == 65504.0f);
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(half_to_float(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(std::isinf(half_to_float(0x7c00)));
  CHECK(std::isnan(half_to_float(0x7e00)));
  CHECK(bf16_to_float(float_to_bf16(1.0f)) == 1.0f);
  // round to nearest even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 -> even (1)
  CHECK(bf16_to_float(float_to_bf16(1.0f + std::ldexp(1.0f, -8))) == 1.0f);
  CHECK(bf16_to_float(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))) == 1.0f + std::ldexp(1.0f, -6));
  CHECK(bf16_to_float(float_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -12))) ==
        1.0f + std::ldexp(1.0f, -7));
  CHECK(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
}

TEST_CASE("safetensors: round trip, metadata, atomic write") {
  std::map<std::string, Tensor> m;
  m["a"] = Tensor{{2, 3}, {1, 2, 3, 4, 5, -6.5f}};
  m["b.scalar"] = Tensor{{}, {3.25f}};
  m["empty"] = Tensor{{0, 4}, {}};
  const std::string path = temp_path("rt.safetensors");
  write_safetensors(path, m, {{"format", "pt"}});
  auto f = load_safetensors(path);
  CHECK(f.metadata.at("format") == "pt");
  REQUIRE(f.tensors.size() == 3);
  for (auto& [k, t] : m) {
    CHECK(f.tensors.at(k).shape == t.shape);
    CHECK(f.tensors.at(k).data == t.data);
    CHECK(f.dtypes.at(k) == "F32");
  }
  CHECK(util::read_file(path) == encode_safetensors(m, {{"format", "pt"}}));
  std::remove(path.c_str());
}

TEST_CASE("safetensors: the Python-written fixture, all dtypes agree") {
  auto f32 = load_safetensors(kFix + "model.safetensors");
  CHECK(f32.dtypes.at("embed.W_E") == "F32");
  CHECK(f32.dtypes.at("blocks.0.attn.mask") == "BOOL");
  CHECK(f32.tensors.at("blocks.1.attn.W_Q").shape == std::vector<int64_t>{4, 64, 16});
  const auto& mask = f32.tensors.at("blocks.0.attn.mask");
  CHECK(mask.data[0] == 1.0f);
  CHECK(mask.data[1] == 0.0f);   // causal: row 0 sees only column 0
  CHECK(mask.data[59] == 1.0f);  // row 1 sees column 0
  CHECK(std::isinf(f32.tensors.at("blocks.0.attn.IGNORE").data.at(0)));
  auto bf = load_safetensors(kFix + "model_lnpre.safetensors");
  CHECK(bf.dtypes.at("blocks.0.mlp.W_in") == "BF16");
  CHECK(bf.tensors.count("blocks.0.ln1.w") == 0);
  // the reference file is self-describing: 4 games x 59 tokens
  auto ref = read_safetensors(kFix + "reference.safetensors");
  CHECK(ref.at("tokens").shape == std::vector<int64_t>{4, 59});
  CHECK(ref.at("logits").shape == std::vector<int64_t>{4, 59, 61});
}

TEST_CASE("safetensors: truncated, corrupted and inconsistent files are refused") {
  std::map<std::string, Tensor> m;
  m["w"] = Tensor{{3, 2}, {1, 2, 3, 4, 5, 6}};
  m["v"] = Tensor{{2}, {7, 8}};
  const std::string good = encode_safetensors(m);
  auto parse = [](std::string_view b) { return parse_safetensors(b, "x.safetensors"); };
  CHECK_NOTHROW(parse(good));
  check_truncations_refused(good, parse);
  // header length beyond the file
  std::string s = good;
  s[0] = static_cast<char>(0xff);
  CHECK_THROWS_WITH_AS(parse(s), doctest::Contains("x.safetensors"), UserError);
  // every single-byte corruption of the header either parses to the same shapes or is refused
  for (size_t i = 8; i < good.size() - 32; ++i) {
    std::string c = good;
    c[i] ^= 0x5a;
    try {
      auto f = parse(c);
      for (auto& [k, t] : f.tensors) CHECK(t.data.size() <= 6);
    } catch (const UserError&) {
    }
  }
  auto with_header = [](const std::string& h, size_t data_bytes) {
    std::string out(8, '\0');
    uint64_t n = h.size();
    std::memcpy(out.data(), &n, 8);
    return out + h + std::string(data_bytes, '\0');
  };
  CHECK_THROWS_WITH_AS(parse(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})", 8)),
                       doctest::Contains("outside"), UserError);
  CHECK_THROWS_WITH_AS(parse(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
                       doctest::Contains("8 bytes for 3 F32"), UserError);
  CHECK_THROWS_WITH_AS(parse(with_header(R"({"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", 8)),
                       doctest::Contains("unsupported dtype"), UserError);
  CHECK_THROWS_WITH_AS(parse(with_header(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", 8)),
                       doctest::Contains("negative"), UserError);
  CHECK_THROWS_WITH_AS(parse(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)),
                       doctest::Contains("outside"), UserError);
  CHECK_THROWS_WITH_AS(parse(with_header(R"({"w": [)", 0)), doctest::Contains("bad JSON"), UserError);
  CHECK_THROWS_WITH_AS(parse(with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8)),
                       doctest::Contains("large"), UserError);
  CHECK_THROWS_AS(load_safetensors(temp_path("does_not_exist")), IoError);
}
