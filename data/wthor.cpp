// WTHOR reader: header and size checks, move decoding, legal replay (passes implicit).
#include "data/wthor.hpp"

#include "data/game_file.hpp"
#include "othello/board.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace ogpt::data {

namespace {
uint16_t u16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const unsigned char* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
[[noreturn]] void refuse(const std::string& name, uint64_t offset, const std::string& what) {
  throw UserError(name + ": " + what + " (byte offset " + std::to_string(offset) + ")");
}
}  // namespace

std::string WthorReject::message() const {
  std::string m = file + ": game " + std::to_string(index);
  if (move > 0) m += ": move " + std::to_string(move);
  if (square >= 0) m += " (" + othello::square_name(square) + ")";
  return m + ": " + reason;
}

int wthor_square(uint8_t code) {
  int row = code / 10, col = code % 10;
  if (row < 1 || row > 8 || col < 1 || col > 8) return -1;
  return (row - 1) * 8 + (col - 1);
}

uint8_t wthor_code(int sq) { return static_cast<uint8_t>(10 * (sq / 8 + 1) + (sq % 8 + 1)); }

WthorFile parse_wthor(std::string_view bytes, const std::string& name) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < kWthorHeaderBytes)
    refuse(name, bytes.size(), "truncated WTHOR header (" + std::to_string(bytes.size()) + " of 16 bytes)");
  WthorFile f;
  WthorHeader& h = f.header;
  h.century = p[0];
  h.year = p[1];
  h.month = p[2];
  h.day = p[3];
  h.n_games = u32(p + 4);
  h.n2 = u16(p + 8);
  h.game_year = u16(p + 10);
  h.board_size = p[12];
  h.game_type = p[13];
  h.depth = p[14];
  h.reserved = p[15];
  if (h.board_size != 0 && h.board_size != 8)
    refuse(name, 12, "board size " + std::to_string(h.board_size) + " is not 8x8 (not a .wtb game file?)");
  uint64_t expect = kWthorHeaderBytes + uint64_t{h.n_games} * kWthorRecordBytes;
  if (bytes.size() < expect)
    refuse(name, bytes.size(), "truncated: the header says " + std::to_string(h.n_games) + " games (" +
                                   std::to_string(expect) + " bytes) but the file has " +
                                   std::to_string(bytes.size()) + " bytes");
  if (bytes.size() > expect)
    refuse(name, expect, std::to_string(bytes.size() - expect) + " unexpected bytes after the " +
                             std::to_string(h.n_games) + " games the header announces");

  f.games.reserve(h.n_games);
  for (uint64_t i = 0; i < h.n_games; ++i) {
    const unsigned char* r = p + kWthorHeaderBytes + i * kWthorRecordBytes;
    WthorGame wg;
    wg.tournament = u16(r);
    wg.black_player = u16(r + 2);
    wg.white_player = u16(r + 4);
    wg.black_discs = r[6];
    wg.theoretical_score = r[7];
    const unsigned char* mv = r + 8;
    std::string why;
    int bad_move = 0, bad_square = -1;
    int n = 0;
    while (n < 60 && mv[n] != 0) ++n;
    for (int t = n; t < 60 && why.empty(); ++t)
      if (mv[t] != 0) {
        why = "move byte " + std::to_string(mv[t]) + " after the end of the game";
        bad_move = t + 1;
      }
    for (int t = 0; t < n && why.empty(); ++t) {
      int sq = wthor_square(mv[t]);
      if (sq < 0) {
        why = "byte " + std::to_string(mv[t]) + " is not a square";
        bad_move = t + 1;
      }
      wg.game.moves[t] = static_cast<uint8_t>(sq);
    }
    wg.game.length = static_cast<uint8_t>(n);
    if (why.empty()) {
      // also refuses a record of no moves (its first move byte is 0), with no square to name
      int t = find_illegal_move(wg.game, &why);
      if (t >= 0) {
        bad_move = t + 1;
        if (t < n) bad_square = wg.game.moves[t];
      }
    }
    if (!why.empty())
      f.rejected.push_back({name, i, bad_move, bad_square, why});
    else
      f.games.push_back(wg);
  }
  return f;
}

WthorFile read_wthor(const std::string& path) { return parse_wthor(util::read_file(path), path); }

}  // namespace ogpt::data
