// Model files: safetensors, .pth (zip + safe pickle subset), TransformerLens import.
// Checkpoints and the import command: test_model_checkpoint.cpp.
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
#include "tests/model_files_support.hpp"
#include "tests/temp_dir.hpp"

using namespace ogpt;
using namespace ogpt::model;

using namespace ogpt::test;

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

// ---- .pth ---------------------------------------------------------------------------------------
#include "model/pth.hpp"

TEST_CASE("pth: the torch.save fixture matches the safetensors copy, views included") {
  auto pth = load_pth(kFix + "model.pth");
  auto st = load_safetensors(kFix + "model.safetensors");
  CHECK(pth.nested_under.empty());
  REQUIRE(pth.tensors.size() == st.tensors.size());
  for (auto& [k, t] : st.tensors) {
    INFO(k);
    REQUIRE(pth.tensors.count(k) == 1);
    CHECK(pth.tensors.at(k).shape == t.shape);
    CHECK(pth.tensors.at(k).data == t.data);  // W_U (transposed view) and b_Q/b_K/b_V (shared storage)
    CHECK(pth.dtypes.at(k) == st.dtypes.at(k));
  }
  // the f16/bf16 folded copy holds exactly the numbers of the bf16 safetensors one
  auto p16 = load_pth(kFix + "model_lnpre.pth");
  auto s16 = load_safetensors(kFix + "model_lnpre.safetensors");
  CHECK(p16.dtypes.at("blocks.0.mlp.W_in") == "F16");
  CHECK(p16.dtypes.at("embed.W_E") == "BF16");
  for (auto& [k, t] : s16.tensors) {
    INFO(k);
    REQUIRE(p16.tensors.count(k) == 1);
    CHECK(p16.tensors.at(k).data == t.data);
  }
}

// A hand-built torch.save archive: a pickle written opcode by opcode and a zip around it.
#include <zlib.h>

#include <random>

#include "util/checksum.hpp"

namespace {
namespace pk {
std::string u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string str(const std::string& s) {
  std::string out = "X";
  out += u32(static_cast<uint32_t>(s.size()));
  return out += s;
}
std::string integer(int32_t i) {
  std::string out = "J";
  return out += u32(static_cast<uint32_t>(i));
}
std::string global(const std::string& mod, const std::string& name) { return "c" + mod + "\n" + name + "\n"; }
std::string ints(const std::vector<int>& v) {
  std::string s = "(";
  for (int x : v) s += integer(x);
  return s + "t";
}
std::string ordered_dict() { return global("collections", "OrderedDict") + ")R"; }
std::string tensor(const std::string& key, const std::string& storage, int numel, int offset,
                   const std::vector<int>& size, const std::vector<int>& stride) {
  return global("torch._utils", "_rebuild_tensor_v2") + "((" + str("storage") + global("torch", storage) +
         str(key) + str("cpu") + integer(numel) + "tQ" + integer(offset) + ints(size) + ints(stride) +
         "\x89" + ordered_dict() + "tR";
}
}  // namespace pk

struct ZipItem {
  std::string name, data;
  bool deflate = false;
};

std::string make_zip(const std::vector<ZipItem>& items) {
  auto u16 = [](uint16_t v) { return std::string(reinterpret_cast<const char*>(&v), 2); };
  std::string out, cd;
  for (auto& it : items) {
    std::string body = it.data;
    if (it.deflate) {
      z_stream zs{};
      deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
      body.assign(deflateBound(&zs, it.data.size()), '\0');
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(it.data.data()));
      zs.avail_in = static_cast<uInt>(it.data.size());
      zs.next_out = reinterpret_cast<Bytef*>(body.data());
      zs.avail_out = static_cast<uInt>(body.size());
      deflate(&zs, Z_FINISH);
      body.resize(zs.total_out);
      deflateEnd(&zs);
    }
    const uint32_t crc = util::crc32(it.data.data(), it.data.size());
    const uint16_t method = it.deflate ? 8 : 0;
    const auto off = static_cast<uint32_t>(out.size());
    std::string common = u16(20) + u16(0) + u16(method) + u16(0) + u16(0) + pk::u32(crc) +
                         pk::u32(static_cast<uint32_t>(body.size())) + pk::u32(static_cast<uint32_t>(it.data.size())) +
                         u16(static_cast<uint16_t>(it.name.size())) + u16(0);
    out += pk::u32(0x04034b50) + common + it.name + body;
    cd += pk::u32(0x02014b50) + u16(20) + common + u16(0) + u16(0) + u16(0) + pk::u32(0) + pk::u32(off) + it.name;
  }
  const auto n = static_cast<uint16_t>(items.size());
  const auto cd_off = static_cast<uint32_t>(out.size());
  out += cd + pk::u32(0x06054b50) + u16(0) + u16(0) + u16(n) + u16(n) +
         pk::u32(static_cast<uint32_t>(cd.size())) + pk::u32(cd_off) + u16(0);
  return out;
}

std::string floats(const std::vector<float>& v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); }

// {"epoch": 3, "state_dict": OrderedDict(w = strided view, b = f16 vector)}
std::string small_pickle() {
  std::string sd = pk::ordered_dict() + "(" + pk::str("w") + pk::tensor("0", "FloatStorage", 5, 1, {2, 2}, {1, 2}) +
                   pk::str("b") + pk::tensor("1", "HalfStorage", 2, 0, {2}, {1}) + "u";
  return "\x80\x02}(" + pk::str("epoch") + pk::integer(3) + pk::str("state_dict") + sd + "u.";
}

std::vector<ZipItem> small_archive(const std::string& pkl, bool deflate) {
  const uint16_t half[2] = {0x3c00, 0xc000};  // 1, -2
  return {{"archive/data.pkl", pkl, deflate},
          {"archive/data/0", floats({0, 1, 2, 3, 4}), deflate},
          {"archive/data/1", std::string(reinterpret_cast<const char*>(half), 4), false},
          {"archive/version", "3\n", false}};
}
}  // namespace

TEST_CASE("pth: hand-built archive: nesting, strides, offsets, f16, deflate") {
  for (bool deflate : {false, true}) {
    auto f = parse_pth(make_zip(small_archive(small_pickle(), deflate)), "small.pth");
    CHECK(f.nested_under == "state_dict");
    REQUIRE(f.tensors.size() == 2);
    CHECK(f.tensors.at("w").shape == std::vector<int64_t>{2, 2});
    CHECK(f.tensors.at("w").data == std::vector<float>{1, 3, 2, 4});  // offset 1, column-major view
    CHECK(f.tensors.at("b").data == std::vector<float>{1, -2});
    CHECK(f.dtypes.at("b") == "F16");
  }
  auto items = small_archive(small_pickle(), false);
  items.push_back({"archive/byteorder", "big", false});
  CHECK_THROWS_WITH_AS(parse_pth(make_zip(items), "be.pth"), doctest::Contains("big-endian"), UserError);
  items.back().data = "little";
  CHECK_NOTHROW(parse_pth(make_zip(items), "le.pth"));
}

TEST_CASE("pth: forbidden globals and opcodes are refused, never executed") {
  auto archive = [](const std::string& pkl) { return make_zip(small_archive(pkl, false)); };
  // pickle.dumps(os.system("ls")) in spirit: GLOBAL os.system, a tuple, REDUCE
  const std::string evil = "\x80\x02" + pk::global("os", "system") + pk::str("ls") + "\x85R.";
  CHECK_THROWS_WITH_AS(parse_pth(archive(evil), "evil.pth"), doctest::Contains("os.system"), UserError);
  CHECK_THROWS_WITH_AS(parse_pth(archive(evil), "evil.pth"), doctest::Contains("evil.pth"), UserError);
  // STACK_GLOBAL (protocol 4) gets the same check
  const std::string evil4 = "\x80\x04" "\x8c\x08" "builtins" "\x8c\x04" "eval" "\x93" + pk::str("1") + "\x85R.";
  CHECK_THROWS_WITH_AS(parse_pth(archive(evil4), "e.pth"), doctest::Contains("builtins.eval"), UserError);
  // a pickled nn.Module
  const std::string module = "\x80\x02" + pk::global("torch.nn.modules.linear", "Linear") + ")\x81.";
  CHECK_THROWS_WITH_AS(parse_pth(archive(module), "m.pth"), doctest::Contains("refusing global"), UserError);
  // INST ('i') and OBJ ('o') build objects: outside the subset
  CHECK_THROWS_WITH_AS(parse_pth(archive("\x80\x02(ios\nsystem\n."), "i.pth"), doctest::Contains("opcode 0x69"), UserError);
  // legacy format and junk
  CHECK_THROWS_WITH_AS(parse_pth("\x80\x02\x8a\x0a", "old.pth"), doctest::Contains("legacy"), UserError);
  CHECK_THROWS_WITH_AS(parse_pth("hello world", "x.pth"), doctest::Contains("not a PyTorch"), UserError);
}

TEST_CASE("pth: a view reaching past its storage is refused") {
  std::string pkl = "\x80\x02" + pk::ordered_dict() + "(" + pk::str("w") +
                    pk::tensor("0", "FloatStorage", 5, 2, {2, 2}, {1, 2}) + "u.";
  CHECK_THROWS_WITH_AS(parse_pth(make_zip(small_archive(pkl, false)), "v.pth"), doctest::Contains("past its storage"),
                       UserError);
  std::string missing = "\x80\x02" + pk::ordered_dict() + "(" + pk::str("w") +
                        pk::tensor("7", "FloatStorage", 5, 0, {5}, {1}) + "u.";
  CHECK_THROWS_WITH_AS(parse_pth(make_zip(small_archive(missing, false)), "v.pth"), doctest::Contains("data/7"),
                       UserError);
}

TEST_CASE("pth: truncated, corrupted, mutated archives are refused, never crash") {
  const std::string good = util::read_file(kFix + "model.pth");
  auto parse = [](std::string_view b) { return parse_pth(b, "model.pth"); };
  check_truncations_refused(good, parse, 4099);
  for (size_t n = good.size() - 200; n < good.size(); ++n) CHECK_THROWS_AS(parse(std::string_view(good).substr(0, n)), UserError);
  // a flipped byte anywhere in an entry's data is caught by its crc32
  std::mt19937 rng(42);
  const auto intact = parse(good);
  int refused = 0;
  for (int k = 0; k < 64; ++k) {
    std::string c = good;
    const size_t at = 100 + rng() % (good.size() - 2000);
    c[at] ^= static_cast<char>(1 + rng() % 255);
    try {
      auto f = parse(c);
      // the byte may have hit zip padding or an unused header field: then every tensor is intact
      REQUIRE(f.tensors.size() == intact.tensors.size());
      for (const auto& [name, t] : intact.tensors) {
        CAPTURE(name);
        REQUIRE(f.tensors.count(name) == 1);
        CHECK(f.tensors.at(name).shape == t.shape);
        CHECK(f.tensors.at(name).data == t.data);
      }
    } catch (const UserError&) {
      ++refused;
    }
  }
  CHECK(refused >= 48);  // the data is nearly all of the file: most flips land in it
  // random mutations of a pickle (re-zipped with a valid crc) exercise the interpreter itself
  const std::string pkl = small_pickle();
  for (int k = 0; k < 3000; ++k) {
    std::string m = pkl;
    for (int j = 0, n = 1 + static_cast<int>(rng() % 3); j < n; ++j) m[rng() % m.size()] = static_cast<char>(rng());
    if (k % 3 == 0) m.resize(rng() % m.size());
    try {
      parse_pth(make_zip(small_archive(m, false)), "fuzz.pth");
    } catch (const UserError&) {
    }
  }
}

// ---- import ---------------------------------------------------------------------------------------
#include "model/checkpoint.hpp"
#include "model/import.hpp"

TEST_CASE("import: the fixture via .pth and .safetensors gives the same 2x64 model") {
  ImportInfo ip, is;
  ParamBlock a = import_model_file(kFix + "model.pth", {}, &ip);
  ParamBlock b = import_model_file(kFix + "model.safetensors", {}, &is);
  Config want = preset("2x64");
  CHECK(a.cfg == want);
  CHECK(b.cfg == want);
  CHECK(a.data == b.data);
  CHECK(ip.layout == "TransformerLens");
  CHECK(ip.format == "pth");
  CHECK(is.format == "safetensors");
  CHECK(ip.skipped.size() == 4);  // attn.mask and attn.IGNORE of both blocks
  // spot-check a value against the raw file: W_Q[h=1, d=2, e=3]
  auto raw = read_safetensors(kFix + "model.safetensors");
  CHECK(b.get("blocks.1.attn.W_Q")[(1 * 64 + 2) * 16 + 3] == raw.at("blocks.1.attn.W_Q").data[(1 * 64 + 2) * 16 + 3]);
}

TEST_CASE("import: a training checkpoint re-saved in bf16 drops the extra blob, keeps the weights") {
  ParamBlock a = import_model_file(kFix + "model.safetensors");
  ogpt::test::TempDir tmp("import_ckpt");
  const std::string run = tmp.str() + "/latest.ckpt", out = tmp.str() + "/model.ckpt";
  save_checkpoint(run, a, WeightDtype::f32, std::string(1000, 'x'));  // stands for the optimizer state
  ImportInfo info;
  ParamBlock b = import_model_file(run, {}, &info);
  CHECK(info.format == "ogpt-checkpoint");
  CHECK(b.cfg == a.cfg);
  CHECK(b.data == a.data);
  save_checkpoint(out, b, WeightDtype::bf16);
  auto c = load_checkpoint(out);
  CHECK(c.dtype == WeightDtype::bf16);
  CHECK(c.extra.empty());
  for (size_t i = 0; i < a.data.size(); ++i)  // bf16: 8 significant bits
    REQUIRE(std::fabs(c.params.data[i] - a.data[i]) <= std::fabs(a.data[i]) * (1.0f / 256) + 1e-30f);
  // a damaged checkpoint is refused by name, not parsed as a state dict
  std::string bytes = util::read_file(run);
  bytes[bytes.size() / 2] ^= 0x55;
  util::write_file_atomic(run, bytes);
  CHECK_THROWS_WITH_AS(import_model_file(run), doctest::Contains(run.c_str()), UserError);
}

TEST_CASE("import: LayerNorm-folded (LNPre) variant") {
  ParamBlock a = import_model_file(kFix + "model_lnpre.safetensors");
  ParamBlock b = import_model_file(kFix + "model_lnpre.pth");
  CHECK_FALSE(a.cfg.has_ln_weights);
  CHECK(a.cfg.has_unembed_bias);
  CHECK(a.cfg.n_layers == 2);
  CHECK(a.data == b.data);
  CHECK(a.data.size() < param_count(preset("2x64")));
}

TEST_CASE("import: missing, mis-shaped, unexpected and non-finite tensors are refused by name") {
  StateDict sd = read_state_dict(kFix + "model.safetensors");
  {
    StateDict s = sd;
    s.erase("blocks.1.attn.W_K");
    CHECK_THROWS_WITH_AS(import_state_dict(s, "f"), doctest::Contains("'blocks.1.attn.W_K' (expected shape [4,64,16]"),
                         UserError);
  }
  {
    StateDict s = sd;
    s["blocks.0.mlp.b_in"].shape = {128, 2};
    CHECK_THROWS_WITH_AS(import_state_dict(s, "f"), doctest::Contains("has shape [128,2], expected [256]"), UserError);
  }
  {
    StateDict s = sd;
    s["blocks.0.attn.W_X"] = Tensor{{1}, {0}};
    CHECK_THROWS_WITH_AS(import_state_dict(s, "f"), doctest::Contains("unexpected tensor 'blocks.0.attn.W_X'"), UserError);
  }
  {
    StateDict s = sd;
    s["ln_final.b"].data[5] = std::nanf("");
    CHECK_THROWS_WITH_AS(import_state_dict(s, "f"), doctest::Contains("non-finite"), UserError);
  }
  {
    StateDict s = sd;
    s.erase("blocks.0.ln1.w");  // half-folded: the inferred config has no ln weights at all
    CHECK_THROWS_WITH_AS(import_state_dict(s, "f"), doctest::Contains("unexpected tensor"), UserError);
  }
  {
    StateDict s = sd;
    s["unembed.W_U"] = Tensor{{64, 60}, std::vector<float>(64 * 60)};
    CHECK_THROWS_WITH_AS(import_state_dict(s, "f"), doctest::Contains("d_vocab_out"), UserError);
  }
  {
    StateDict s = sd;  // a zero-width model: consistent shapes, nothing a later load accepts
    s["embed.W_E"] = Tensor{{61, 0}, {}};
    CHECK_THROWS_WITH_AS(import_state_dict(s, "f"), doctest::Contains("implausible size 0 in the shape of embed.W_E"),
                         UserError);
    s = sd;  // a size past int: refused before it becomes one, or anything is allocated
    s["blocks.0.mlp.W_in"] = Tensor{{0, int64_t{1} << 40}, {}};
    CHECK_THROWS_WITH_AS(import_state_dict(s, "f"), doctest::Contains("blocks.0.mlp.W_in"), UserError);
  }
  CHECK_THROWS_WITH_AS(import_state_dict(StateDict{{"foo", Tensor{{1}, {0}}}}, "f"), doctest::Contains("neither"),
                       UserError);
}

TEST_CASE("import: minGPT (Li et al.) names and older TransformerLens layouts map to the same weights") {
  ParamBlock ref = import_model_file(kFix + "model.safetensors");
  const int64_t d = 64, h = 4, dh = 16, dm = 256, V = 61, T = 59;
  auto tl = [&](const std::string& n) { return ref.get(n); };
  // Build the minGPT state dict from the TL one: nn.Linear weights are [out, in].
  StateDict m;
  m["tok_emb.weight"] = Tensor{{V, d}, std::vector<float>(tl("embed.W_E"), tl("embed.W_E") + V * d)};
  m["pos_emb"] = Tensor{{1, T, d}, std::vector<float>(tl("pos_embed.W_pos"), tl("pos_embed.W_pos") + T * d)};
  auto linear_from = [](const float* W, int64_t in, int64_t out) {  // TL [in,out] -> [out,in]
    Tensor t{{out, in}, std::vector<float>(in * out)};
    for (int64_t i = 0; i < in; ++i)
      for (int64_t o = 0; o < out; ++o) t.data[o * in + i] = W[i * out + o];
    return t;
  };
  auto vec = [](const float* x, int64_t n) { return Tensor{{n}, std::vector<float>(x, x + n)}; };
  for (int l = 0; l < 2; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    m[b + "ln1.weight"] = vec(tl(b + "ln1.w"), d);
    m[b + "ln1.bias"] = vec(tl(b + "ln1.b"), d);
    m[b + "ln2.weight"] = vec(tl(b + "ln2.w"), d);
    m[b + "ln2.bias"] = vec(tl(b + "ln2.b"), d);
    for (auto [name, x] : {std::pair{"query", "Q"}, {"key", "K"}, {"value", "V"}}) {
      const float* W = tl(b + "attn.W_" + x);  // [h,d,dh] -> weight[(h dh), d]
      Tensor w{{d, d}, std::vector<float>(d * d)};
      for (int64_t i = 0; i < h; ++i)
        for (int64_t mm = 0; mm < d; ++mm)
          for (int64_t e = 0; e < dh; ++e) w.data[(i * dh + e) * d + mm] = W[(i * d + mm) * dh + e];
      m[b + "attn." + name + ".weight"] = w;
      m[b + "attn." + name + ".bias"] = vec(tl(b + "attn.b_" + x), d);
    }
    const float* W_O = tl(b + "attn.W_O");  // [h,dh,d] -> proj.weight[d, (h dh)]
    Tensor p{{d, d}, std::vector<float>(d * d)};
    for (int64_t i = 0; i < h * dh; ++i)
      for (int64_t mm = 0; mm < d; ++mm) p.data[mm * d + i] = W_O[i * d + mm];
    m[b + "attn.proj.weight"] = p;
    m[b + "attn.proj.bias"] = vec(tl(b + "attn.b_O"), d);
    m[b + "attn.mask"] = Tensor{{1, 1, T, T}, std::vector<float>(T * T, 1)};
    m[b + "mlp.0.weight"] = linear_from(tl(b + "mlp.W_in"), d, dm);
    m[b + "mlp.0.bias"] = vec(tl(b + "mlp.b_in"), dm);
    m[b + "mlp.2.weight"] = linear_from(tl(b + "mlp.W_out"), dm, d);
    m[b + "mlp.2.bias"] = vec(tl(b + "mlp.b_out"), d);
  }
  m["ln_f.weight"] = vec(tl("ln_final.w"), d);
  m["ln_f.bias"] = vec(tl("ln_final.b"), d);
  m["head.weight"] = linear_from(tl("unembed.W_U"), d, V);
  ImportOptions opt;
  opt.n_heads = 4;
  ImportInfo info;
  ParamBlock got = import_state_dict(m, "mingpt", opt, &info);
  CHECK(info.layout == "minGPT");
  CHECK_FALSE(got.cfg.has_unembed_bias);  // minGPT's head has no bias
  CHECK(got.cfg.n_heads == 4);
  for (auto& s : got.specs) {
    INFO(s.name);
    CHECK(std::equal(got.get(s.name), got.get(s.name) + s.numel, ref.get(s.name)));
  }
  // DataParallel prefix
  StateDict pre;
  for (auto& [k, t] : m) pre["module." + k] = t;
  CHECK(import_state_dict(pre, "dp", opt).data == got.data);

  // older TransformerLens: W_Q [h, dh, d], W_O [h, d, dh]
  StateDict old = read_state_dict(kFix + "model.safetensors");
  for (auto& [k, t] : old) {
    if (!(k.ends_with("W_Q") || k.ends_with("W_K") || k.ends_with("W_V") || k.ends_with("W_O"))) continue;
    const int64_t a = t.shape[1], c = t.shape[2];
    Tensor n{{h, c, a}, std::vector<float>(t.data.size())};
    for (int64_t i = 0; i < h; ++i)
      for (int64_t x = 0; x < a; ++x)
        for (int64_t y = 0; y < c; ++y) n.data[(i * c + y) * a + x] = t.data[(i * a + x) * c + y];
    t = n;
  }
  CHECK(import_state_dict(old, "old").data == ref.data);
}
