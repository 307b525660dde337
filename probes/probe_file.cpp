// Probe files, .npy export and intervention directions.
#include "probes/probe_file.hpp"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "probes/activations.hpp"
#include "util/atomic_file.hpp"
#include "util/cereal_bounded.hpp"
#include "util/checksum.hpp"
#include "util/error.hpp"
#include "util/bytes.hpp"

namespace ogpt::probes {

namespace {

constexpr size_t kHeader = 24;

using util::load_bounded;  // every container in a probe file is loaded through it

// A matrix on disk: rows, cols, then the floats in Armadillo's column-major order.
struct MatRec {
  uint64_t rows = 0, cols = 0;
  std::vector<float> v;
  template <class A>
  void save(A& ar) const {
    ar(rows, cols, v);
  }
  template <class A>
  void load(A& ar) {
    ar(rows, cols);
    load_bounded(ar, v, "a matrix");
  }
};
MatRec to_rec(const arma::fmat& m) { return {m.n_rows, m.n_cols, std::vector<float>(m.begin(), m.end())}; }
arma::fmat from_rec(const MatRec& r, const std::string& name, const char* what) {
  // rows, cols bounded first: their product must not wrap around (2^32 x 2^32 "holds" 0 values)
  constexpr uint64_t kMaxDim = uint64_t{1} << 24;
  if (r.rows > kMaxDim || r.cols > kMaxDim || r.v.size() != r.rows * r.cols)
    throw UserError(name + ": malformed probe file (" + what + " holds " + std::to_string(r.v.size()) +
                    " values for a " + std::to_string(r.rows) + "x" + std::to_string(r.cols) + " matrix)");
  return arma::fmat(r.v.data(), r.rows, r.cols);
}

struct ProbeRec {
  uint8_t kind = 0, target = 0;
  std::string hook;
  int32_t layer = 0, d = 0, H = 0, C = 0;
  MatRec W1, b1, W, b;
  TrainInfo info;
  uint32_t version = kProbeVersion;  // of the file being read (written: always the current one)
  template <class A>
  void save(A& ar) const {
    ar(kind, target, hook, layer, d, H, C, W1, b1, W, b);
    ar(info.model);
    save_info_numbers(ar);
    ar(info.positions);
  }
  template <class A>
  void load(A& ar) {
    ar(kind, target);
    load_bounded(ar, hook, "the hook name");
    ar(layer, d, H, C, W1, b1, W, b);
    load_bounded(ar, info.model, "the model name");
    load_info_numbers(ar);
    info.positions.clear();  // version 1 did not record them
    if (version >= 2) load_bounded(ar, info.positions, "the token positions");
  }
  template <class A>
  void save_info_numbers(A& ar) const {
    ar(info.games_train, info.games_val, info.games_test, info.positions_train, info.steps, info.epochs,
       info.val_accuracy, info.test_accuracy, info.test_loss, info.seed);
  }
  template <class A>
  void load_info_numbers(A& ar) {
    ar(info.games_train, info.games_val, info.games_test, info.positions_train, info.steps, info.epochs,
       info.val_accuracy, info.test_accuracy, info.test_loss, info.seed);
  }
};

// What positions_label writes, or "" (a version-1 file): something parse_positions reads back.
// Whether the positions fit a model is asked again at use, with its n_ctx; here any n_ctx will do.
bool is_positions_label(const std::string& s) {
  constexpr int kAnyCtx = 1 << 16;
  if (s.empty()) return true;
  try {
    parse_positions(s, kAnyCtx);
    return true;
  } catch (const UserError&) {
    return false;
  }
}

template <class T>
void put(std::string& s, T x) {
  s.append(reinterpret_cast<const char*>(&x), sizeof x);  // the machine is little-endian (x86-64)
}

}  // namespace

std::string probe_to_bytes(const Probe& p) {
  ProbeRec r;
  r.kind = uint8_t(p.kind);
  r.target = uint8_t(p.target);
  r.hook = p.hook;
  r.layer = p.layer;
  r.d = p.d;
  r.H = p.H;
  r.C = p.C;
  r.W1 = to_rec(p.W1);
  r.b1 = to_rec(p.b1);
  r.W = to_rec(p.W);
  r.b = to_rec(p.b);
  r.info = p.info;
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive ar(os);
    ar(r);
  }
  const std::string payload = os.str();
  std::string out(kProbeMagic, 8);
  put<uint32_t>(out, kProbeVersion);
  put<uint32_t>(out, util::crc32(payload.data(), payload.size()));
  put<uint64_t>(out, payload.size());
  out += payload;
  return out;
}

Probe probe_from_bytes(const std::string& bytes, const std::string& name) {
  if (bytes.size() < kHeader)
    throw UserError(name + ": truncated probe file (" + std::to_string(bytes.size()) + " bytes, the header alone is " +
                    std::to_string(kHeader) + ")");
  if (std::memcmp(bytes.data(), kProbeMagic, 8) != 0)
    throw UserError(name + ": not a probe file (bad magic at byte 0; expected \"OGPTPROB\")");
  const uint32_t version = util::load_le<uint32_t>(bytes.data() + 8);
  if (version < kProbeOldestVersion || version > kProbeVersion)
    throw UserError(name + ": probe file version " + std::to_string(version) + " at byte 8 is not supported (this build reads versions " +
                    std::to_string(kProbeOldestVersion) + " to " + std::to_string(kProbeVersion) + ")");
  const uint32_t crc = util::load_le<uint32_t>(bytes.data() + 12);
  const uint64_t len = util::load_le<uint64_t>(bytes.data() + 16);
  if (bytes.size() - kHeader < len)
    throw UserError(name + ": truncated probe file (header at byte 16 promises " + std::to_string(len) +
                    " payload bytes from byte 24, the file has " + std::to_string(bytes.size() - kHeader) + ")");
  if (bytes.size() - kHeader > len)
    throw UserError(name + ": malformed probe file (" + std::to_string(bytes.size() - kHeader - len) +
                    " trailing bytes after byte " + std::to_string(kHeader + len) + ")");
  if (util::crc32(bytes.data() + kHeader, len) != crc)
    throw UserError(name + ": corrupted probe file (crc32 of bytes 24.." + std::to_string(kHeader + len) +
                    " does not match the header)");
  ProbeRec r;
  r.version = version;
  try {
    const util::BoundedLoad bound(len);
    std::istringstream is(bytes.substr(kHeader));
    cereal::PortableBinaryInputArchive ar(is);
    ar(r);
  } catch (const std::exception& e) {
    throw UserError(name + ": malformed probe file payload (" + e.what() + ")");
  }
  Probe p;
  if (r.kind > 1 || r.target > 4) throw UserError(name + ": malformed probe file (unknown kind or basis)");
  p.kind = Kind(r.kind);
  p.target = Target(r.target);
  p.hook = r.hook;
  p.layer = r.layer;
  p.d = r.d;
  p.H = r.H;
  p.C = r.C;
  p.W1 = from_rec(r.W1, name, "W1");
  p.b1 = arma::vectorise(from_rec(r.b1, name, "b1"));
  p.W = from_rec(r.W, name, "W");
  p.b = arma::vectorise(from_rec(r.b, name, "b"));
  p.info = r.info;
  const int in = p.kind == Kind::mlp ? p.H : p.d;
  const bool ok = p.C == target_classes(p.target) && p.d > 0 && int(p.W.n_rows) == p.rows() && int(p.W.n_cols) == in &&
                  int(p.b.n_elem) == p.rows() &&
                  (p.kind == Kind::linear || (p.H > 0 && int(p.W1.n_rows) == p.H && int(p.W1.n_cols) == p.d &&
                                              int(p.b1.n_elem) == p.H));
  if (!ok) throw UserError(name + ": malformed probe file (weight shapes do not match d, H and the basis)");
  // A crc only catches accidents: weights that are not numbers, or a layer other than the one
  // its hook names, would read garbage or edit at the wrong layer.
  if (!p.W.is_finite() || !p.b.is_finite() || !p.W1.is_finite() || !p.b1.is_finite())
    throw UserError(name + ": malformed probe file (weights that are not finite numbers)");
  if (!is_positions_label(p.info.positions))
    throw UserError(name + ": malformed probe file (token positions \"" + p.info.positions.substr(0, 40) +
                    "\" are neither all, a slice A:B nor a list)");
  if (p.layer < 0) throw UserError(name + ": malformed probe file (layer " + std::to_string(p.layer) + ")");
  // hook_layer needs the model's config only for ln_final hooks, which are not checked here.
  if (p.hook.rfind("blocks.", 0) == 0 && hook_layer(p.hook, model::Config{}) != p.layer)
    throw UserError(name + ": malformed probe file (layer " + std::to_string(p.layer) + " but hook " + p.hook + ")");
  return p;
}

std::vector<std::string> probe_files_at(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (auto& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file() && e.path().extension() == ".probe") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  }
  return files;
}

void save_probe(const std::string& path, const Probe& p) { util::write_file_atomic(path, probe_to_bytes(p)); }

Probe load_probe(const std::string& path) { return probe_from_bytes(util::read_file(path), path); }

// ---- .npy -------------------------------------------------------------------------------------------

void write_npy(const std::string& path, const float* data, const std::vector<size_t>& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  size_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
    n *= shape[i];
  }
  dict += "), }";
  // Magic (6) + version (2) + header length (2) + dict, padded with spaces and ended by '\n' so the
  // data starts on a 64-byte boundary (what NumPy itself writes).
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  put<uint16_t>(out, uint16_t(dict.size()));
  out += dict;
  out.append(reinterpret_cast<const char*>(data), n * sizeof(float));
  util::write_file_atomic(path, out);
}

std::vector<float> read_npy(const std::string& path, std::vector<size_t>* shape) {
  const std::string s = util::read_file(path);
  if (s.size() < 10 || s.compare(0, 6, "\x93NUMPY") != 0) throw UserError(path + ": not a .npy file (bad magic at byte 0)");
  const uint16_t hl = util::load_le<uint16_t>(s.data() + 8);
  if (s.size() < 10u + hl) throw UserError(path + ": truncated .npy header");
  const std::string dict = s.substr(10, hl);
  if (dict.find("'<f4'") == std::string::npos || dict.find("'fortran_order': False") == std::string::npos)
    throw UserError(path + ": only little-endian float32 C-order .npy files are read");
  const size_t a = dict.find("'shape': ("), e = dict.find(')', a);
  std::vector<size_t> sh;
  size_t n = 1;
  std::istringstream is(dict.substr(a + 10, e - a - 10));
  for (std::string tok; std::getline(is, tok, ',');)
    if (tok.find_first_of("0123456789") != std::string::npos) {
      sh.push_back(std::stoull(tok));
      n *= sh.back();
    }
  if (s.size() != 10u + hl + n * 4) throw UserError(path + ": .npy data size does not match its shape");
  std::vector<float> v(n);
  std::memcpy(v.data(), s.data() + 10 + hl, n * 4);
  if (shape) *shape = sh;
  return v;
}

std::vector<std::string> export_probe_npy(const Probe& p, const std::string& dir) {
  util::ensure_directory(dir);
  std::vector<std::string> out;
  auto w = [&](const std::string& name, const float* data, std::vector<size_t> shape) {
    out.push_back((std::filesystem::path(dir) / name).string());
    write_npy(out.back(), data, shape);
  };
  const size_t d = p.d, H = p.H, C = p.C;
  // Armadillo's column-major [64*C x in] is, byte for byte, C-order [in, 64*C] = [in, 8, 8, C].
  if (p.kind == Kind::linear) {
    w("W.npy", p.W.memptr(), {d, 8, 8, C});
    w("b.npy", p.b.memptr(), {8, 8, C});
    if (C == 3) {
      const Directions dirs = get_directions(p);
      // [d x 64] column-major -> C-order [d, 8, 8] needs the transpose.
      const arma::fmat ft = dirs.flip.t(), et = dirs.empty.t();
      const std::string a = p.target == Target::mine_theirs ? "mine_minus_theirs" : "black_minus_white";
      w("direction_" + a + ".npy", ft.memptr(), {d, 8, 8});
      w("direction_empty.npy", et.memptr(), {d, 8, 8});
    }
  } else {
    w("W1.npy", p.W1.memptr(), {d, H});  // column-major [H x d] = C-order [d, H]
    w("b1.npy", p.b1.memptr(), {H});
    w("W2.npy", p.W.memptr(), {H, 8, 8, C});
    w("b2.npy", p.b.memptr(), {8, 8, C});
  }
  return out;
}

Directions get_directions(const Probe& p) {
  if (p.kind != Kind::linear || p.C != 3)
    throw UserError(std::string("intervention directions need a linear probe of a board basis (this one is ") +
                    kind_name(p.kind) + " " + target_name(p.target) + ")");
  Directions d;
  d.hook = p.hook;
  d.layer = p.layer;
  d.target = p.target;
  d.flip.set_size(p.d, 64);
  d.empty.set_size(p.d, 64);
  for (int c = 0; c < 64; ++c) {
    const arma::frowvec e = p.W.row(c * 3 + 0), m = p.W.row(c * 3 + 1), t = p.W.row(c * 3 + 2);
    d.flip.col(c) = (m - t).t();
    d.empty.col(c) = (e - 0.5f * (m + t)).t();
  }
  return d;
}

}  // namespace ogpt::probes
