#pragma once
// The game file (.games): versioned, checksummed, streamed in chunks so that reading 20M games
// never needs 20M games of memory.
//
//   header (48 bytes, little-endian):
//     0  char[8] magic "OGPTGAME"
//     8  u32 version (kGameFileVersion)
//    12  u32 flags (kFlagSynthetic: games are random_game(seed, first + i))
//    16  u64 game count
//    24  u64 seed          (synthetic files; 0 otherwise)
//    32  u64 first index   (synthetic files; 0 otherwise)
//    40  u32 games per chunk (nominal; the last chunk may be shorter)
//    44  u32 crc32 of bytes 0..43
//   then chunks until the game count is reached, each:
//     u32 game count, u32 payload byte length, u32 crc32 of (these 8 bytes + payload),
//     payload = per game: one length byte (<= 60) then that many square bytes (0..63).
//   Nothing may follow the last chunk.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "data/game.hpp"
#include "util/atomic_file.hpp"

namespace ogpt::data {

constexpr char kGameMagic[8] = {'O', 'G', 'P', 'T', 'G', 'A', 'M', 'E'};
constexpr uint32_t kGameFileVersion = 1;
constexpr uint32_t kFlagSynthetic = 1;
constexpr uint32_t kGamesPerChunk = 1u << 16;
constexpr size_t kGameHeaderBytes = 48;
constexpr size_t kChunkHeaderBytes = 12;

struct GameFileInfo {
  uint32_t version = kGameFileVersion;
  uint32_t flags = 0;
  uint64_t count = 0;
  uint64_t seed = 0, first = 0;
  uint32_t games_per_chunk = kGamesPerChunk;
};

// Appends one encoded chunk (chunk header + payload) for games[0..n) to `out`.
void encode_chunk(const Game* games, size_t n, std::string& out);

// Streams games to `path` atomically: nothing appears at `path` until commit(). The header
// carries the game count, so it must be known up front; commit() checks it was met.
class GameWriter {
 public:
  GameWriter(std::string path, const GameFileInfo& info);
  void write(const Game* games, size_t n);
  void write(const std::vector<Game>& games) { write(games.data(), games.size()); }
  void commit();
  uint64_t games_written() const { return written_; }

 private:
  void flush_chunk();
  util::AtomicWriter out_;
  GameFileInfo info_;
  std::vector<Game> pending_;
  std::string buf_;
  uint64_t written_ = 0;
};

// Writes a whole vector of games (info.count is set from games.size()).
void write_games(const std::string& path, const std::vector<Game>& games, GameFileInfo info = {});

// Reads a game file chunk by chunk. Every refusal is a UserError naming the file and the byte
// offset: wrong magic, unsupported version, bad header or chunk crc32, truncation, trailing
// bytes, and (when validating, the default) a game with an illegal move (game index and move).
class GameReader {
 public:
  explicit GameReader(std::string path, bool validate = true);
  ~GameReader();
  GameReader(const GameReader&) = delete;
  GameReader& operator=(const GameReader&) = delete;
  const GameFileInfo& info() const { return info_; }
  uint64_t count() const { return info_.count; }
  uint64_t games_read() const { return delivered_; }  // handed out or skipped
  // Replaces `out` with the next up to `max` games; returns false (out empty) at the end.
  bool next_batch(std::vector<Game>& out, size_t max);
  // Moves past the next n games (e.g. to resume training at position n). Whole chunks in the
  // way are crc-checked but neither decoded nor replayed. Returns how many were skipped (< n
  // only at the end of the file).
  uint64_t skip(uint64_t n);

 private:
  // Reads the next chunk into chunk_; if it holds at most skip_up_to games it is only
  // crc-checked and chunk_ is left empty. Sets *n_games to the chunk's game count.
  bool load_chunk(uint64_t skip_up_to = 0, uint32_t* n_games = nullptr);
  std::string path_;
  bool validate_;
  std::FILE* f_ = nullptr;
  GameFileInfo info_;
  uint64_t offset_ = 0;     // byte offset of the next unread byte
  uint64_t decoded_ = 0;    // games decoded from chunks so far
  uint64_t delivered_ = 0;  // games handed out or skipped
  std::vector<Game> chunk_;
  size_t chunk_pos_ = 0;
  std::string payload_;
};

std::vector<Game> read_all_games(const std::string& path, bool validate = true);
GameFileInfo read_game_file_info(const std::string& path);  // header only (checked)
uint64_t count_games(const std::string& path);              // from the header

// Replays g with the engine: returns -1 if every move is legal, else the 0-based index of the
// first illegal move and sets *reason ("square occupied", "flips nothing", "game already over",
// "not a square"). A game may stop before the end (e.g. a resignation in a real game).
int find_illegal_move(const Game& g, std::string* reason = nullptr);

}  // namespace ogpt::data
