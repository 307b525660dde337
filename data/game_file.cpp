// The game file format (see game_file.hpp): writer, streaming reader, validation.
#include "data/game_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "othello/board.hpp"
#include "othello/kernels.hpp"
#include "util/checksum.hpp"
#include "util/error.hpp"

namespace ogpt::data {

namespace {
void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
void put_u64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t get_u32(const unsigned char* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t get_u64(const unsigned char* p) { return get_u32(p) | (uint64_t{get_u32(p + 4)} << 32); }

std::string encode_header(const GameFileInfo& info) {
  std::string h(kGameMagic, 8);
  put_u32(h, kGameFileVersion);
  put_u32(h, info.flags);
  put_u64(h, info.count);
  put_u64(h, info.seed);
  put_u64(h, info.first);
  put_u32(h, info.games_per_chunk);
  put_u32(h, util::crc32(h.data(), h.size()));
  return h;
}

[[noreturn]] void refuse(const std::string& path, uint64_t offset, const std::string& what) {
  throw UserError(path + ": " + what + " (byte offset " + std::to_string(offset) + ")");
}
}  // namespace

int find_illegal_move(const Game& g, std::string* reason) {
  // The engine's inlined kernels on (player, opponent): validation runs over every game read.
  namespace k = othello::kernels;
  using othello::Bitboard;
  auto fail = [&](int t, const char* why) {
    if (reason) *reason = why;
    return t;
  };
  if (g.length > 60) return fail(60, "more than 60 moves");
  // An empty record is refused too: it trains on nothing, and a text export of it (an empty
  // line) would not read back as a game.
  if (g.length == 0) return fail(0, "no moves");
  othello::Board start = othello::board_start();
  Bitboard p = start.player, o = start.opponent;
  for (int t = 0; t < g.length; ++t) {
    int sq = g.moves[t];
    if (sq > 63) return fail(t, "not a square");
    Bitboard m = k::get_moves_fast(p, o);
    if (!m) {  // implicit pass
      std::swap(p, o);
      m = k::get_moves_fast(p, o);
      if (!m) return fail(t, "game already over");
    }
    if (!((m >> sq) & 1)) return fail(t, ((p | o) >> sq) & 1 ? "square occupied" : "flips nothing");
    Bitboard f = k::get_flips_fast(p, o, sq);
    Bitboard np = o & ~f;
    o = p | f | (Bitboard{1} << sq);
    p = np;
  }
  return -1;
}

void encode_chunk(const Game* games, size_t n, std::string& out) {
  size_t start = out.size();
  put_u32(out, static_cast<uint32_t>(n));
  put_u32(out, 0);  // payload length, patched below
  put_u32(out, 0);  // crc, patched below
  for (size_t i = 0; i < n; ++i) {
    out.push_back(static_cast<char>(games[i].length));
    out.append(reinterpret_cast<const char*>(games[i].moves.data()), games[i].length);
  }
  uint32_t len = static_cast<uint32_t>(out.size() - start - kChunkHeaderBytes);
  std::string h;
  put_u32(h, static_cast<uint32_t>(n));
  put_u32(h, len);
  uint32_t crc = util::crc32(h.data(), 8);
  crc = util::crc32(out.data() + start + kChunkHeaderBytes, len, crc);
  put_u32(h, crc);
  std::memcpy(out.data() + start, h.data(), kChunkHeaderBytes);
}

// ---- writer --------------------------------------------------------------------------------------

GameWriter::GameWriter(std::string path, const GameFileInfo& info)
    : out_(std::move(path)), info_(info) {
  info_.version = kGameFileVersion;
  if (info_.games_per_chunk == 0) info_.games_per_chunk = kGamesPerChunk;
  std::string h = encode_header(info_);
  out_.write(h.data(), h.size());
  pending_.reserve(std::min<uint64_t>(info_.games_per_chunk, info_.count));
}

void GameWriter::flush_chunk() {
  if (pending_.empty()) return;
  buf_.clear();
  encode_chunk(pending_.data(), pending_.size(), buf_);
  out_.write(buf_.data(), buf_.size());
  pending_.clear();
}

void GameWriter::write(const Game* games, size_t n) {
  if (written_ + n > info_.count)
    throw std::logic_error("GameWriter: more games than the header's count");
  for (size_t i = 0; i < n; ++i) {
    if (games[i].length == 0 || games[i].length > 60)
      throw std::logic_error("GameWriter: a game of " + std::to_string(games[i].length) + " moves");
    pending_.push_back(games[i]);
    if (pending_.size() == info_.games_per_chunk) flush_chunk();
  }
  written_ += n;
}

void GameWriter::commit() {
  flush_chunk();
  if (written_ != info_.count)
    throw std::logic_error("GameWriter: " + std::to_string(written_) + " games written, header says " +
                           std::to_string(info_.count));
  out_.commit();
}

void write_games(const std::string& path, const std::vector<Game>& games, GameFileInfo info) {
  info.count = games.size();
  GameWriter w(path, info);
  w.write(games);
  w.commit();
}

// ---- reader --------------------------------------------------------------------------------------

GameReader::GameReader(std::string path, bool validate) : path_(std::move(path)), validate_(validate) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec)) throw IoError(path_ + ": is a directory, not a game file");
  f_ = std::fopen(path_.c_str(), "rb");
  if (!f_) throw IoError("cannot open " + path_ + ": " + std::strerror(errno));
  // A refusal below leaves the constructor, so the destructor will not close the file: do it
  // here (else every refused file leaks a descriptor, and a long-lived process runs out).
  try {
    unsigned char h[kGameHeaderBytes];
    size_t got = std::fread(h, 1, sizeof h, f_);
    if (got < 8 || std::memcmp(h, kGameMagic, 8) != 0)
      refuse(path_, 0, "not a game file (magic is not OGPTGAME)");
    if (got < 12) refuse(path_, got, "truncated header");
    uint32_t version = get_u32(h + 8);
    if (version != kGameFileVersion)
      refuse(path_, 8, "game file version " + std::to_string(version) + " is not supported (this build reads version " +
                           std::to_string(kGameFileVersion) + ")");
    if (got < kGameHeaderBytes) refuse(path_, got, "truncated header");
    if (util::crc32(h, 44) != get_u32(h + 44)) refuse(path_, 44, "header crc32 mismatch (corrupted)");
    info_.version = version;
    info_.flags = get_u32(h + 12);
    info_.count = get_u64(h + 16);
    info_.seed = get_u64(h + 24);
    info_.first = get_u64(h + 32);
    info_.games_per_chunk = get_u32(h + 40);
    // The writer never writes 0 (it substitutes its default); a file of games cannot have none per chunk.
    if (info_.games_per_chunk == 0 && info_.count > 0) refuse(path_, 40, "header says 0 games per chunk");
    offset_ = kGameHeaderBytes;
  } catch (...) {
    std::fclose(f_);
    f_ = nullptr;
    throw;
  }
}

GameReader::~GameReader() {
  if (f_) std::fclose(f_);
}

bool GameReader::load_chunk(uint64_t skip_up_to, uint32_t* n_games) {
  chunk_.clear();
  chunk_pos_ = 0;
  unsigned char h[kChunkHeaderBytes];
  size_t got = std::fread(h, 1, sizeof h, f_);
  if (decoded_ == info_.count) {
    if (got > 0) refuse(path_, offset_, "unexpected bytes after the last game");
    return false;
  }
  uint64_t chunk_at = offset_;
  std::string promised = " (header promises " + std::to_string(info_.count) + " games, " +
                         std::to_string(decoded_) + " read)";
  if (got < kChunkHeaderBytes) refuse(path_, offset_ + got, "truncated: file ends inside a chunk header" + promised);
  uint32_t n = get_u32(h), len = get_u32(h + 4), crc = get_u32(h + 8);
  // The header's games-per-chunk (under the header crc) bounds what we allocate before the
  // chunk's own crc can be checked.
  if (n == 0 || n > info_.count - decoded_ || n > info_.games_per_chunk)
    refuse(path_, chunk_at, "chunk claims " + std::to_string(n) + " games" + promised);
  if (len < n || len > uint64_t{n} * 61)
    refuse(path_, chunk_at + 4, "chunk payload length " + std::to_string(len) + " impossible for " +
                                    std::to_string(n) + " games");
  // Grow the buffer as bytes actually arrive: a 70-byte file claiming a 4 GiB chunk must not
  // make the reader allocate 4 GiB before it finds the file is truncated.
  payload_.clear();
  got = 0;
  while (got < len) {
    const size_t step = std::min<size_t>(len - got, size_t{1} << 20);
    payload_.resize(got + step);
    const size_t g = std::fread(payload_.data() + got, 1, step, f_);
    got += g;
    if (g < step) break;
  }
  if (got < len) refuse(path_, chunk_at + kChunkHeaderBytes + got, "truncated: file ends inside a chunk" + promised);
  uint32_t c = util::crc32(h, 8);
  c = util::crc32(payload_.data(), len, c);
  if (c != crc) refuse(path_, chunk_at, "chunk crc32 mismatch (corrupted)");
  offset_ = chunk_at + kChunkHeaderBytes + len;
  if (n_games) *n_games = n;
  if (n <= skip_up_to) {
    decoded_ += n;
    return true;
  }

  // Decode: length byte then moves, exactly filling the payload.
  chunk_.resize(n);
  const auto* p = reinterpret_cast<const unsigned char*>(payload_.data());
  size_t pos = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t game_at = chunk_at + kChunkHeaderBytes + pos;
    if (pos >= len) refuse(path_, game_at, "game " + std::to_string(decoded_ + i) + " runs past its chunk");
    int L = p[pos];
    if (L > 60) refuse(path_, game_at, "game " + std::to_string(decoded_ + i) + " has length " + std::to_string(L) + " > 60");
    if (L == 0) refuse(path_, game_at, "game " + std::to_string(decoded_ + i) + " has no moves");
    if (pos + 1 + L > len) refuse(path_, game_at, "game " + std::to_string(decoded_ + i) + " runs past its chunk");
    Game& g = chunk_[i];
    g.length = static_cast<uint8_t>(L);
    std::memcpy(g.moves.data(), p + pos + 1, L);
    std::fill(g.moves.begin() + L, g.moves.end(), 0);
    pos += 1 + L;
  }
  if (pos != len) refuse(path_, chunk_at + kChunkHeaderBytes + pos, "chunk has bytes after its last game");

  if (validate_) {
    // Games are independent: check them in parallel, report the first bad one.
    int64_t first_bad = INT64_MAX;
#pragma omp parallel for schedule(static) reduction(min : first_bad)
    for (int64_t i = 0; i < static_cast<int64_t>(n); ++i)
      if (find_illegal_move(chunk_[i]) >= 0) first_bad = std::min(first_bad, i);
    if (first_bad != INT64_MAX) {
      std::string why;
      const Game& g = chunk_[first_bad];
      int t = find_illegal_move(g, &why);
      uint64_t game_at = chunk_at + kChunkHeaderBytes;
      for (int64_t i = 0; i < first_bad; ++i) game_at += 1 + chunk_[i].length;
      refuse(path_, game_at, "game " + std::to_string(decoded_ + first_bad) + ": move " + std::to_string(t + 1) +
                                 " (" + othello::square_name(t < 60 ? g.moves[t] : -1) + "): " + why);
    }
  }
  decoded_ += n;
  return true;
}

bool GameReader::next_batch(std::vector<Game>& out, size_t max) {
  out.clear();
  while (out.size() < max) {
    if (chunk_pos_ == chunk_.size() && !load_chunk()) break;
    size_t take = std::min(max - out.size(), chunk_.size() - chunk_pos_);
    out.insert(out.end(), chunk_.begin() + chunk_pos_, chunk_.begin() + chunk_pos_ + take);
    chunk_pos_ += take;
    delivered_ += take;
  }
  return !out.empty();
}

uint64_t GameReader::skip(uint64_t n) {
  uint64_t skipped = 0;
  while (skipped < n) {
    if (chunk_pos_ < chunk_.size()) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(n - skipped, chunk_.size() - chunk_pos_));
      chunk_pos_ += take;
      skipped += take;
      continue;
    }
    uint32_t got = 0;
    if (!load_chunk(n - skipped, &got)) break;
    if (chunk_.empty()) skipped += got;  // skipped whole
  }
  delivered_ += skipped;
  return skipped;
}

std::vector<Game> read_all_games(const std::string& path, bool validate) {
  GameReader r(path, validate);
  std::vector<Game> all, batch;
  all.reserve(std::min<uint64_t>(r.count(), 1u << 20));  // a header is not trusted with RAM
  while (r.next_batch(batch, kGamesPerChunk)) all.insert(all.end(), batch.begin(), batch.end());
  return all;
}

GameFileInfo read_game_file_info(const std::string& path) { return GameReader(path, false).info(); }

uint64_t count_games(const std::string& path) { return read_game_file_info(path).count; }

}  // namespace ogpt::data
