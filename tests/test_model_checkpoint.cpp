// Model checkpoints (model/checkpoint.hpp) and the `import` command that writes them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "model/checkpoint.hpp"
#include "model/import.hpp"
#include "model/safetensors.hpp"
#include "tests/cli_run.hpp"
#include "tests/model_files_support.hpp"
#include "util/atomic_file.hpp"
#include "util/checksum.hpp"
#include "util/error.hpp"

using namespace ogpt;
using namespace ogpt::model;
using namespace ogpt::test;

// ---- checkpoints ------------------------------------------------------------------------------
namespace {
ParamBlock tiny_model(bool ln = true) {
  Config c = preset("2x64");
  c.n_layers = 1;
  c.d_model = 8;
  c.n_heads = 2;
  c.d_head = 4;
  c.d_mlp = 16;
  c.d_vocab = 5;
  c.n_ctx = 3;
  c.has_ln_weights = ln;
  ParamBlock p(c);
  init_params(p, 7);
  for (size_t i = 0; i < p.data.size(); ++i) p.data[i] += 0.001f * static_cast<float>(i % 13);
  return p;
}
}  // namespace

TEST_CASE("checkpoint: f32 round trip is exact, bf16 within rounding, extra blob kept") {
  const std::string path = temp_path("ck.ogpt");
  ParamBlock p = import_model_file(kFix + "model_lnpre.pth");
  const std::string extra("opt\0state\xff", 10);
  save_checkpoint(path, p, WeightDtype::f32, extra);
  auto a = load_checkpoint(path);
  CHECK(a.params.cfg == p.cfg);
  CHECK(a.params.data == p.data);
  CHECK(a.dtype == WeightDtype::f32);
  CHECK(a.extra == extra);
  CHECK(a.params.w.W_U == a.params.data.data() + a.params.specs[a.params.specs.size() - 2].offset);

  ParamBlock q = import_model_file(kFix + "model.pth");
  save_checkpoint(path, q, WeightDtype::bf16);
  auto b = load_checkpoint(path);
  CHECK(b.dtype == WeightDtype::bf16);
  CHECK(b.extra.empty());
  size_t exact = 0;
  for (size_t i = 0; i < q.data.size(); ++i) {
    const float x = q.data[i], y = b.params.data[i];
    REQUIRE(std::abs(x - y) <= std::ldexp(std::abs(x), -8));  // half an ulp of an 8-bit mantissa
    CHECK(y == bf16_to_float(float_to_bf16(x)));
    exact += x == y;
  }
  CHECK(exact < q.data.size() / 10);  // it really was rounded
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: truncated, corrupted, wrong magic or version are refused by name") {
  const std::string path = temp_path("bad.ogpt");
  save_checkpoint(path, tiny_model(), WeightDtype::f32, "xyz");
  const std::string good = util::read_file(path);
  auto load_bytes = [&](std::string_view b) { return parse_checkpoint(b, path); };
  CHECK_NOTHROW(load_bytes(good));
  for (size_t n = 0; n < good.size(); n += 7) {
    INFO("truncated to " << n);
    CHECK_THROWS_WITH_AS(load_bytes(std::string_view(good).substr(0, n)), doctest::Contains(path.c_str()), UserError);
  }
  for (size_t i = 0; i < good.size(); i += 3) {
    std::string c = good;
    c[i] ^= 0x10;
    INFO("flipped byte " << i);
    CHECK_THROWS_AS(load_bytes(c), UserError);
  }
  // corruptions behind a recomputed (valid) crc reach the parser's own guards
  for (size_t i = 12; i + 4 < good.size(); ++i) {
    std::string c = good;
    c[i] ^= static_cast<char>(0x80 | i);
    const uint32_t crc = util::crc32(c.data(), c.size() - 4);
    std::memcpy(c.data() + c.size() - 4, &crc, 4);
    try {
      auto ck = parse_checkpoint(c, path);
      CHECK(ck.params.data.size() == param_count(ck.params.cfg));
    } catch (const UserError& e) {
      CHECK(std::string(e.what()).find(path) == 0);
    }
  }
  std::string v = good;
  v[8] = 2;
  CHECK_THROWS_WITH_AS(load_bytes(v), doctest::Contains("version 2 is newer"), UserError);
  CHECK_THROWS_WITH_AS(load_bytes("PK\x03\x04 a zip"), doctest::Contains("wrong magic"), UserError);
  CHECK_THROWS_WITH_AS(load_bytes(""), doctest::Contains("empty file (0 bytes)"), UserError);
  util::write_file_atomic(path, std::string_view(good).substr(0, good.size() / 2));
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("checksum"), UserError);
  std::remove(path.c_str());
  CHECK_THROWS_AS(load_checkpoint(path), IoError);
}

TEST_CASE("cli: othello-gpt import prints the inferred config and writes a loadable checkpoint") {
  const std::string out = temp_path("cli.ogpt");
  int rc = -1;
  auto j = nlohmann::json::parse(
      run_cli("import --from " + kFix + "model_lnpre.pth --out " + out + " --dtype bf16 --json", &rc));
  CHECK(rc == 0);
  CHECK(j["config"]["n_layers"] == 2);
  CHECK(j["config"]["has_ln_weights"] == false);
  CHECK(j["parameters"] == param_count(import_model_file(kFix + "model_lnpre.pth").cfg));
  auto ck = load_checkpoint(out);
  CHECK(ck.dtype == WeightDtype::bf16);
  CHECK(ck.params.data == import_model_file(kFix + "model_lnpre.pth").data);  // bf16 values survive exactly
  std::remove(out.c_str());
  // a refused file: exit code 3 (bad input) and the file named
  const std::string text = run_cli("import --from " + kFix + "reference.json --out " + out, &rc, true);
  CHECK(rc == 3);
  CHECK(text.find("reference.json") != std::string::npos);
}
