#pragma once
// WTHOR game databases (.wtb, the French federation's format for real games).
//
//   header (16 bytes, little-endian): u8 century, u8 year, u8 month, u8 day (creation date),
//     u32 number of games N1, u16 N2 (unused in .wtb), u16 year of the games, u8 board size
//     (0 or 8), u8 game type, u8 depth, u8 reserved
//   N1 records of 68 bytes: u16 tournament, u16 black player, u16 white player, u8 black discs
//     (actual), u8 theoretical score, 60 move bytes: 10*row + col (both 1-based, 11 = a1,
//     column = letter), 0 = no move (the game ended)
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/game.hpp"

namespace ogpt::data {

constexpr size_t kWthorHeaderBytes = 16;
constexpr size_t kWthorRecordBytes = 68;

struct WthorHeader {
  uint8_t century = 0, year = 0, month = 0, day = 0;
  uint32_t n_games = 0;
  uint16_t n2 = 0, game_year = 0;
  uint8_t board_size = 0, game_type = 0, depth = 0, reserved = 0;
};

struct WthorGame {
  uint16_t tournament = 0, black_player = 0, white_player = 0;
  uint8_t black_discs = 0, theoretical_score = 0;
  Game game;
};

// A record that does not replay legally. move is 1-based (0 when the record as a whole is bad).
struct WthorReject {
  std::string file;
  uint64_t index = 0;  // 0-based record index in its file
  int move = 0;
  int square = -1;     // the offending square, when it is one
  std::string reason;
  std::string message() const;  // "WTH_2003.wtb: game 17: move 23 (c3): flips nothing"
};

struct WthorFile {
  WthorHeader header;
  std::vector<WthorGame> games;       // the records that replay legally, in file order
  std::vector<WthorReject> rejected;  // the others, with why
};

// Decodes one move byte to a square (0..63), or -1 if it is not one.
int wthor_square(uint8_t code);
uint8_t wthor_code(int sq);  // the inverse (for tests and export)

// Parses a whole .wtb. Header and size problems throw UserError naming `name` and the byte
// offset; a record that is not a legal game is listed in `rejected` and skipped.
WthorFile parse_wthor(std::string_view bytes, const std::string& name);
WthorFile read_wthor(const std::string& path);

}  // namespace ogpt::data
