#include "interventions/case_file.hpp"

#include <cstring>

#include "util/atomic_file.hpp"
#include "util/checksum.hpp"
#include "util/error.hpp"

namespace ogpt::interventions {

namespace {

template <class T>
void put(std::string& s, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the project targets little-endian x86-64
  s.append(b, sizeof(T));
}

struct Reader {
  const std::string& bytes;
  const std::string& name;
  size_t pos = 0;
  [[noreturn]] void fail(const std::string& why, size_t at) const {
    throw UserError(name + ": " + why + " at byte " + std::to_string(at));
  }
  template <class T>
  T get(const char* what) {
    if (bytes.size() - pos < sizeof(T)) fail(std::string("truncated (") + what + ")", pos);
    T v;
    std::memcpy(&v, bytes.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
};

}  // namespace

std::string cases_to_bytes(const std::vector<EditCase>& cases) {
  std::string payload;
  put<uint32_t>(payload, static_cast<uint32_t>(cases.size()));
  for (const EditCase& c : cases) {
    if (c.moves.empty() || c.moves.size() > 59 || c.cell < 0 || c.cell > 63)
      throw std::logic_error("cases_to_bytes: a case out of range");
    for (uint8_t v : {uint8_t(c.kind), uint8_t(c.set), uint8_t(c.proven), uint8_t(c.target), uint8_t(c.cell),
                      uint8_t(c.moves.size())})
      put<uint8_t>(payload, v);
    for (int m : c.moves) put<uint8_t>(payload, static_cast<uint8_t>(m));
  }
  std::string out(kCaseMagic, 8);
  put<uint32_t>(out, kCaseVersion);
  put<uint32_t>(out, util::crc32(payload.data(), payload.size()));
  put<uint64_t>(out, payload.size());
  return out + payload;
}

std::vector<EditCase> cases_from_bytes(const std::string& bytes, const std::string& name) {
  Reader r{bytes, name};
  if (bytes.size() < 24) r.fail("too short for a case-set header (" + std::to_string(bytes.size()) + " bytes)", 0);
  if (std::memcmp(bytes.data(), kCaseMagic, 8) != 0) r.fail("not an intervention case set (bad magic)", 0);
  r.pos = 8;
  const uint32_t version = r.get<uint32_t>("version");
  if (version != kCaseVersion)
    r.fail("format version " + std::to_string(version) + " (this build reads " + std::to_string(kCaseVersion) + ")", 8);
  const uint32_t crc = r.get<uint32_t>("crc");
  const uint64_t len = r.get<uint64_t>("length");
  if (len != bytes.size() - 24)
    r.fail("payload length " + std::to_string(len) + " but " + std::to_string(bytes.size() - 24) + " bytes follow", 16);
  if (util::crc32(bytes.data() + 24, len) != crc) r.fail("checksum mismatch (corrupted)", 12);
  const uint32_t n = r.get<uint32_t>("count");
  std::vector<EditCase> cases;
  cases.reserve(std::min<uint32_t>(n, 1u << 20));
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.pos;
    EditCase c;
    const uint8_t kind = r.get<uint8_t>("kind"), set = r.get<uint8_t>("set"), proven = r.get<uint8_t>("proven");
    const uint8_t target = r.get<uint8_t>("target"), cell = r.get<uint8_t>("cell"), nm = r.get<uint8_t>("length");
    if (kind > 1 || set > 1 || proven > 1 || target > 2 || cell > 63 || nm < 1 || nm > 59)
      r.fail("case " + std::to_string(i) + " has a field out of range", at);
    c.kind = CaseKind(kind);
    c.set = CaseSet(set);
    c.proven = proven;
    c.target = CellState(target);
    c.cell = cell;
    for (int k = 0; k < nm; ++k) {
      const uint8_t sq = r.get<uint8_t>("move");
      if (sq > 63) r.fail("case " + std::to_string(i) + ": move " + std::to_string(k + 1) + " is not a square", r.pos - 1);
      c.moves.push_back(sq);
    }
    othello::Board b;
    try {
      b = board_after(c.moves);
    } catch (const UserError& e) {
      r.fail("case " + std::to_string(i) + ": " + e.what(), at);
    }
    // The kind must describe the edit: a flip turns an occupied cell to the other colour, an
    // erase empties an occupied one (else the case would be scored as something it is not).
    const CellState now = get_cell_state(b, c.cell);
    const std::string which = "case " + std::to_string(i) + " (" + othello::square_name(c.cell) + ")";
    const bool fits = c.kind == CaseKind::flip
                          ? now != CellState::empty && c.target != CellState::empty && c.target != now
                          : now != CellState::empty && c.target == CellState::empty;
    if (!fits)
      r.fail(which + ": a " + case_kind_name(c.kind) + " of " + othello::square_name(c.cell) + ", which is " +
                 cell_state_name(now) + ", to " + cell_state_name(c.target) + " is not a " + case_kind_name(c.kind),
             at);
    // The edits bench would refuse one by one (a finished game, an empty centre square, ...):
    // refused here, where the file and the byte are known.
    if (const GroundTruth g = get_ground_truth(c.moves, c.cell, c.target); !g.usable) r.fail(which + ": " + g.why_not, at);
    cases.push_back(std::move(c));
  }
  if (r.pos != bytes.size()) r.fail("trailing bytes after " + std::to_string(n) + " cases", r.pos);
  return cases;
}

void save_cases(const std::string& path, const std::vector<EditCase>& cases) {
  util::write_file_atomic(path, cases_to_bytes(cases));
}

std::vector<EditCase> load_cases(const std::string& path) { return cases_from_bytes(util::read_file(path), path); }

}  // namespace ogpt::interventions
