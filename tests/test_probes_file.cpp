// Probe files (round trip, refusals), .npy export, intervention directions.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "probes/probe_file.hpp"
#include "util/atomic_file.hpp"
#include "util/checksum.hpp"
#include "util/error.hpp"

using namespace ogpt::probes;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const char* name) {
  fs::path d = fs::temp_directory_path() / (std::string("ogpt_probes_") + name + "_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}
std::string refusal(const std::string& bytes) {
  try {
    probe_from_bytes(bytes, "p.probe");
  } catch (const ogpt::UserError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("probe file: round trip keeps every field and weight") {
  for (Kind kind : {Kind::linear, Kind::mlp}) {
    Probe p = make_probe(kind, Target::black_white, 10, 6, 42);
    p.hook = "blocks.3.hook_resid_post";
    p.layer = 4;
    p.info.model = "2x64 test";
    p.info.games_train = 1234;
    p.info.test_accuracy = 0.875f;
    // make_probe zeroes the biases: give them values, so that a bias lost on save or load shows
    p.b.randn();
    if (kind == Kind::mlp) p.b1.randn();
    const fs::path dir = temp_dir("rt");
    save_probe((dir / "p.probe").string(), p);
    const Probe q = load_probe((dir / "p.probe").string());
    CHECK(q.kind == kind);
    CHECK(q.target == Target::black_white);
    CHECK(q.hook == p.hook);
    CHECK(q.layer == 4);
    CHECK(q.d == 10);
    CHECK(q.H == p.H);
    CHECK(q.info.model == "2x64 test");
    CHECK(q.info.games_train == 1234);
    CHECK(q.info.test_accuracy == 0.875f);
    CHECK(arma::approx_equal(q.W, p.W, "absdiff", 0.0f));
    CHECK(arma::approx_equal(q.b, p.b, "absdiff", 0.0f));
    CHECK(arma::any(p.b != 0.0f));
    if (kind == Kind::mlp) {
      CHECK(arma::approx_equal(q.W1, p.W1, "absdiff", 0.0f));
      CHECK(arma::approx_equal(q.b1, p.b1, "absdiff", 0.0f));
      CHECK(arma::any(p.b1 != 0.0f));
    }
    fs::remove_all(dir);
  }
}

TEST_CASE("probe file: the token positions it was fitted on round-trip, a version-1 file reads without them") {
  Probe p = make_probe(Kind::linear, Target::mine_theirs, 8, 0, 5);
  CHECK(p.info.positions.empty());  // not recorded: only fit_probe knows them
  for (const char* window : {"all", "5:54", "0,10,58", "7"}) {
    p.info.positions = window;
    CHECK(probe_from_bytes(probe_to_bytes(p), "p.probe").info.positions == window);
  }
  // A version-1 file, written by the build before version 2 (2x64 model, MLP probe of the
  // empty feature, hidden width 1: 1.6 KB). It loads, with no positions.
  const std::string v1 = ogpt::util::read_file(std::string(OGPT_SOURCE_DIR) + "/tests/fixtures/probe_v1.probe");
  REQUIRE(v1.size() > 24);
  CHECK(v1[8] == 1);
  const Probe old = probe_from_bytes(v1, "old.probe");
  CHECK(old.info.positions.empty());
  CHECK(old.kind == Kind::mlp);
  CHECK(old.target == Target::empty);
  CHECK(old.d == 64);
  CHECK(old.H == 1);
  CHECK(old.hook == "blocks.0.hook_resid_post");
  // Version 2 is version 1 plus the positions string at the end of the payload (a cereal string:
  // u64 length, then its bytes; 8 zero bytes for an empty one): written again and cut back, the
  // old file comes out byte for byte.
  std::string again = probe_to_bytes(old);
  REQUIRE(again.compare(again.size() - 8, 8, std::string(8, '\0')) == 0);
  again.resize(again.size() - 8);
  const uint32_t version = 1, crc = ogpt::util::crc32(again.data() + 24, again.size() - 24);
  const uint64_t len = again.size() - 24;
  std::memcpy(again.data() + 8, &version, 4);
  std::memcpy(again.data() + 12, &crc, 4);
  std::memcpy(again.data() + 16, &len, 8);
  CHECK(again == v1);
  // Version 2 cut the same way is missing its last field.
  std::string cut = again;
  const uint32_t two = 2;
  std::memcpy(cut.data() + 8, &two, 4);
  CHECK(refusal(cut).find("malformed probe file payload") != std::string::npos);
  // Anything but what --positions could have written is refused, naming it.
  for (const char* bad : {"9:3", "3,3", "a:b", "5:54:3", "1,2:3", ",1", "1,", "all ", "1,,2"}) {
    CAPTURE(bad);
    p.info.positions = bad;
    CHECK(refusal(probe_to_bytes(p)).find("token positions") != std::string::npos);
  }
}

TEST_CASE("probe file: truncated, corrupted, wrong-version and foreign files are refused") {
  const std::string good = probe_to_bytes(make_probe(Kind::linear, Target::mine_theirs, 8, 0, 1));
  CHECK(refusal(good).empty());
  CHECK(refusal(good.substr(0, 10)).find("truncated") != std::string::npos);
  CHECK(refusal(good.substr(0, good.size() - 7)).find("truncated") != std::string::npos);
  std::string bad = good;
  bad[good.size() / 2] ^= 0x20;
  CHECK(refusal(bad).find("corrupted") != std::string::npos);
  bad = good;
  bad[8] = 9;  // version
  CHECK(refusal(bad).find("version 9") != std::string::npos);
  bad[8] = 0;
  CHECK(refusal(bad).find("version 0") != std::string::npos);
  bad = good;
  bad[0] = 'X';
  CHECK(refusal(bad).find("not a probe file") != std::string::npos);
  CHECK(refusal(good + "xx").find("trailing") != std::string::npos);
  // Every message names the file.
  CHECK(refusal(bad).find("p.probe") == 0);
  CHECK_THROWS_AS(load_probe("/nonexistent/dir/p.probe"), ogpt::IoError);
}

TEST_CASE("probe file: weights that are not numbers, or a layer its hook does not name, are refused") {
  // Both pass the crc (written by a buggy tool, or forged): a NaN probe would read garbage, a
  // wrong layer would edit the model where the probe never read it.
  for (Kind kind : {Kind::linear, Kind::mlp}) {
    CAPTURE(kind_name(kind));
    Probe p = make_probe(kind, Target::mine_theirs, 8, 4, 3);
    p.hook = "blocks.5.hook_resid_post";
    p.layer = 6;
    CHECK(refusal(probe_to_bytes(p)).empty());
    Probe q = p;
    q.W(3, 2) = std::nanf("");
    CHECK(refusal(probe_to_bytes(q)).find("not finite") != std::string::npos);
    q = p;
    q.b[7] = INFINITY;
    CHECK(refusal(probe_to_bytes(q)).find("not finite") != std::string::npos);
    q = p;
    q.layer = 5;
    CHECK(refusal(probe_to_bytes(q)).find("layer 5 but hook blocks.5.hook_resid_post") != std::string::npos);
    q.layer = -7;
    CHECK(refusal(probe_to_bytes(q)).find("layer -7") != std::string::npos);
    q.hook = "blocks.5.hook_resid_pre";  // resid_pre of block 5 is layer 5
    q.layer = 5;
    CHECK(refusal(probe_to_bytes(q)).empty());
  }
}

TEST_CASE("probe file: a forged length inside the payload is refused before anything is allocated") {
  // The crc32 is no defence against a crafted file: fix it up after changing a length field.
  auto forge = [](std::string b) {
    const uint64_t len = b.size() - 24;
    const uint32_t crc = ogpt::util::crc32(b.data() + 24, len);
    std::memcpy(b.data() + 12, &crc, 4);
    std::memcpy(b.data() + 16, &len, 8);
    return b;
  };
  Probe p = make_probe(Kind::mlp, Target::black_white, 10, 6, 42);
  p.hook = "blocks.3.hook_resid_post";
  p.layer = 4;
  std::string good = probe_to_bytes(p);
  CHECK_NOTHROW(probe_from_bytes(good, "good.probe"));
  // payload: kind (1 byte), basis (1), then the hook's length (u64) and its bytes
  for (uint64_t n : {uint64_t{1} << 62, uint64_t{1} << 39, uint64_t{100000}}) {
    std::string bad = good;
    std::memcpy(bad.data() + 24 + 2, &n, 8);
    CHECK_THROWS_WITH_AS(probe_from_bytes(forge(bad), "forged.probe"), doctest::Contains("more than the payload holds"),
                         ogpt::UserError);
  }
  // the inputs fuzz_probe_file found (a matrix claiming 2^40 floats; 2^32 x 2^32 = "0" values; its first byte asks the
  // fuzz target to repair the header, as here)
  std::string found = ogpt::util::read_file(std::string(OGPT_SOURCE_DIR) + "/tests/fixtures/fuzz/probe_file_huge_length.bin");
  REQUIRE(found.size() > 25);
  CHECK_THROWS_WITH_AS(probe_from_bytes(forge(found.substr(1)), "found.probe"), doctest::Contains("found.probe"),
                       ogpt::UserError);
  found = ogpt::util::read_file(std::string(OGPT_SOURCE_DIR) + "/tests/fixtures/fuzz/probe_file_wrapping_shape.bin");
  REQUIRE(found.size() > 25);
  CHECK_THROWS_WITH_AS(probe_from_bytes(forge(found.substr(1)), "found.probe"), doctest::Contains("malformed probe file"),
                       ogpt::UserError);
}

TEST_CASE("npy export: header and data read back, and NumPy agrees if it is installed") {
  Probe p = make_probe(Kind::linear, Target::mine_theirs, 5, 0, 9);
  const fs::path dir = temp_dir("npy");
  const auto files = export_probe_npy(p, dir.string());
  CHECK(files.size() == 4);
  std::vector<size_t> shape;
  const std::vector<float> W = read_npy((dir / "W.npy").string(), &shape);
  CHECK(shape == std::vector<size_t>{5, 8, 8, 3});
  // W.npy[j, row, col, k] = weight of input j for class k of cell row*8+col.
  const int j = 3, cell = 8 * 2 + 5, k = 2;
  CHECK(W[((j * 8 + 2) * 8 + 5) * 3 + k] == p.W(cell * 3 + k, j));
  const std::vector<float> D = read_npy((dir / "direction_mine_minus_theirs.npy").string(), &shape);
  CHECK(shape == std::vector<size_t>{5, 8, 8});
  CHECK(D[j * 64 + cell] == doctest::Approx(p.W(cell * 3 + 1, j) - p.W(cell * 3 + 2, j)));
  // The header is padded so that the data starts on a 64-byte boundary.
  const std::string raw = ogpt::util::read_file((dir / "b.npy").string());
  CHECK((raw.size() - 64 * 3 * 4) % 64 == 0);

  if (fs::exists("/usr/bin/python3")) {
    const std::string cmd = "/usr/bin/python3 -c \"import numpy as np; a = np.load('" + (dir / "W.npy").string() +
                            "'); print(a.shape, repr(float(a[3, 2, 5, 2])))\" 2>/dev/null";
    FILE* f = popen(cmd.c_str(), "r");
    char buf[256] = {0};
    const bool got = f && fgets(buf, sizeof buf, f);
    const int rc = f ? pclose(f) : -1;
    if (got && rc == 0) {
      const std::string out(buf);
      CHECK(out.find("(5, 8, 8, 3)") == 0);
      CHECK(std::stof(out.substr(out.find(')') + 1)) == doctest::Approx(p.W(cell * 3 + k, j)));
    } else {
      MESSAGE("numpy not available; skipped the NumPy cross-check");
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("directions: adding the mine-minus-theirs direction turns a cell from theirs to mine") {
  Probe p = make_probe(Kind::linear, Target::mine_theirs, 32, 0, 4);
  const Directions dirs = get_directions(p);
  REQUIRE(dirs.flip.n_rows == 32);
  REQUIRE(dirs.flip.n_cols == 64);
  const int cell = 19;
  CHECK(arma::approx_equal(dirs.flip.col(cell), (p.W.row(cell * 3 + 1) - p.W.row(cell * 3 + 2)).t(), "absdiff", 1e-6f));
  CHECK(arma::approx_equal(dirs.empty.col(cell),
                           (p.W.row(cell * 3) - 0.5f * (p.W.row(cell * 3 + 1) + p.W.row(cell * 3 + 2))).t(), "absdiff",
                           1e-6f));
  // Find an activation the probe reads as "theirs" at the cell, then push it along the direction.
  arma::fmat x = -3.0f * dirs.flip.col(cell) / arma::dot(dirs.flip.col(cell), dirs.flip.col(cell));
  std::vector<uint8_t> pred;
  probe_predict(pred, p, x);
  CHECK(pred[cell] == 2);
  x += 6.0f * dirs.flip.col(cell) / arma::dot(dirs.flip.col(cell), dirs.flip.col(cell));
  probe_predict(pred, p, x);
  CHECK(pred[cell] == 1);
  CHECK_THROWS_AS(get_directions(make_probe(Kind::mlp, Target::mine_theirs, 8, 4, 1)), ogpt::UserError);
}
