// WTHOR import on bytes built here (the real databases are never committed).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/game_file.hpp"
#include "data/generate.hpp"
#include "data/wthor.hpp"
#include "othello/board.hpp"
#include "util/error.hpp"

using namespace ogpt;
using namespace ogpt::data;

namespace {
void put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
std::string wthor_header(uint32_t n, uint8_t board_size = 8) {
  std::string h = {20, 24, 1, 2};  // created 2024-01-02
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>(n >> (8 * i)));
  put16(h, 0);
  put16(h, 2023);
  h += {static_cast<char>(board_size), 0, 22, 0};
  return h;
}
// A 68-byte record from raw move bytes (padded with 0).
std::string wthor_record(const std::vector<uint8_t>& codes, uint16_t tournament = 7) {
  std::string r;
  put16(r, tournament);
  put16(r, 100);
  put16(r, 200);
  r += {33, 34};
  for (int i = 0; i < 60; ++i) r.push_back(static_cast<char>(i < int(codes.size()) ? codes[i] : 0));
  return r;
}
std::vector<uint8_t> codes_of(const Game& g) {
  std::vector<uint8_t> c;
  for (int t = 0; t < g.length; ++t) c.push_back(wthor_code(g.moves[t]));
  return c;
}
std::string refusal(const std::string& bytes) {
  try {
    parse_wthor(bytes, "x.wtb");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("data: WTHOR move codes") {
  CHECK(wthor_square(11) == othello::parse_square("a1"));
  CHECK(wthor_square(56) == othello::parse_square("f5"));  // the usual first move
  CHECK(wthor_square(88) == othello::parse_square("h8"));
  CHECK(wthor_square(18) == othello::parse_square("h1"));
  for (uint8_t bad : {0, 9, 10, 19, 20, 89, 90, 99, 255}) CHECK(wthor_square(bad) == -1);
  for (int sq = 0; sq < 64; ++sq) CHECK(wthor_square(wthor_code(sq)) == sq);
}

TEST_CASE("data: WTHOR records replay, illegal ones are rejected with index, move and reason") {
  Game a = random_game(9, 0), b = random_game(9, 1);
  auto occupied = codes_of(a);
  occupied[10] = occupied[3];
  auto not_square = codes_of(b);
  not_square[5] = 99;
  auto after_end = std::vector<uint8_t>{56, 0, 64};
  std::string bytes = wthor_header(6) + wthor_record(codes_of(a), 1) + wthor_record(occupied) +
                      wthor_record(not_square) + wthor_record(after_end) + wthor_record({56, 66}) +
                      wthor_record(codes_of(b), 2);
  WthorFile f = parse_wthor(bytes, "x.wtb");
  CHECK(f.header.n_games == 6);
  CHECK(f.header.game_year == 2023);
  CHECK(f.header.depth == 22);
  REQUIRE(f.games.size() == 3);
  CHECK(f.games[0].game.moves == a.moves);
  CHECK(f.games[0].game.length == a.length);
  CHECK(f.games[0].tournament == 1);
  CHECK(f.games[0].black_discs == 33);
  CHECK(f.games[1].game.length == 2);  // f5 f6: a legal (abandoned) prefix is kept
  CHECK(f.games[2].game.moves == b.moves);
  REQUIRE(f.rejected.size() == 3);
  CHECK(f.rejected[0].index == 1);
  CHECK(f.rejected[0].move == 11);
  CHECK(f.rejected[0].reason == "square occupied");
  CHECK(f.rejected[0].message() ==
        "x.wtb: game 1: move 11 (" + othello::square_name(a.moves[3]) + "): square occupied");
  CHECK(f.rejected[1].index == 2);
  CHECK(f.rejected[1].move == 6);
  CHECK(f.rejected[1].reason.find("99 is not a square") != std::string::npos);
  CHECK(f.rejected[2].index == 3);
  CHECK(f.rejected[2].move == 3);
  CHECK(f.rejected[2].reason.find("after the end") != std::string::npos);
}

TEST_CASE("data: a WTHOR record without moves is rejected, not kept as a game of length 0") {
  Game a = random_game(9, 2);
  WthorFile f = parse_wthor(wthor_header(2) + wthor_record({}) + wthor_record(codes_of(a)), "z.wtb");
  REQUIRE(f.games.size() == 1);
  CHECK(f.games[0].game.length == a.length);
  REQUIRE(f.rejected.size() == 1);
  CHECK(f.rejected[0].index == 0);
  CHECK(f.rejected[0].reason == "no moves");
  CHECK(f.rejected[0].move == 1);
  CHECK(f.rejected[0].square == -1);  // no square to name (the record's bytes are all 0)
}

TEST_CASE("data: WTHOR header and size are checked against each other") {
  std::string rec = wthor_record({56});
  CHECK(refusal(wthor_header(2) + rec + rec).empty());
  std::string m = refusal(wthor_header(3) + rec + rec);
  CHECK(m.find("x.wtb") == 0);
  CHECK(m.find("truncated") != std::string::npos);
  CHECK(m.find("byte offset 152") != std::string::npos);
  m = refusal(wthor_header(1) + rec + rec);
  CHECK(m.find("unexpected bytes") != std::string::npos);
  CHECK(m.find("byte offset 84") != std::string::npos);
  m = refusal(wthor_header(1, 10) + rec);
  CHECK(m.find("board size 10") != std::string::npos);
  CHECK(m.find("byte offset 12") != std::string::npos);
  m = refusal(wthor_header(1).substr(0, 9));
  CHECK(m.find("truncated WTHOR header") != std::string::npos);
  CHECK(refusal(wthor_header(0)).empty());
}

TEST_CASE("data: WTHOR records of random bytes are rejected or legal, never a crash") {
  GameRng rng{5};
  std::string bytes = wthor_header(200);
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> codes(60);
    int n = static_cast<int>(rng.next32() % 61);
    for (int t = 0; t < n; ++t) codes[t] = static_cast<uint8_t>(rng.next32() % 3 ? 11 + rng.next32() % 78 : rng.next32());
    bytes += wthor_record(codes);
  }
  WthorFile f = parse_wthor(bytes, "r.wtb");
  CHECK(f.games.size() + f.rejected.size() == 200);
  for (auto& g : f.games) CHECK(find_illegal_move(g.game) == -1);
  for (auto& r : f.rejected) CHECK(!r.reason.empty());
}
