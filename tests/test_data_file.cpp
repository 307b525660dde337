// The game file: round trips, streaming, and every refusal (magic, version, crc, truncation,
// trailing bytes, illegal games) naming the file and the byte offset.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "data/game_file.hpp"
#include "data/generate.hpp"
#include "util/atomic_file.hpp"
#include "util/checksum.hpp"
#include "util/error.hpp"

using namespace ogpt;
using namespace ogpt::data;

namespace {
std::string tmp_path(const std::string& name) {
  return "/tmp/ogpt_test_data_" + std::to_string(::getpid()) + "_" + name;
}
std::vector<Game> some_games(size_t n, uint64_t seed = 3) {
  std::vector<Game> g(n);
  generate_games(seed, 0, n, g.data(), 1);
  return g;
}
bool same(const std::vector<Game>& a, const std::vector<Game>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].length != b[i].length || a[i].moves != b[i].moves) return false;
  return true;
}
// The message of the UserError thrown by reading `path`, or "" if it was accepted.
std::string refusal(const std::string& path) {
  try {
    read_all_games(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}
void put_u32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
}  // namespace

TEST_CASE("data: game file round trip, several chunks, streaming batches") {
  auto games = some_games(1000);
  games[11].length = 7;  // a legal prefix is a valid record
  std::string path = tmp_path("rt.games");
  GameFileInfo info;
  info.count = games.size();
  info.games_per_chunk = 300;  // 4 chunks, the last one short
  info.flags = kFlagSynthetic;
  info.seed = 3;
  {
    GameWriter w(path, info);
    w.write(games.data(), 450);
    w.write(games.data() + 450, 550);
    w.commit();
  }
  auto back = read_all_games(path);
  std::fill(games[11].moves.begin() + 7, games[11].moves.end(), 0);
  CHECK(same(back, games));
  CHECK(count_games(path) == 1000);
  GameFileInfo in = read_game_file_info(path);
  CHECK(in.seed == 3);
  CHECK(in.flags == kFlagSynthetic);
  CHECK(in.games_per_chunk == 300);

  GameReader r(path);
  std::vector<Game> batch, all;
  size_t batches = 0;
  while (r.next_batch(batch, 128)) {
    CHECK(batch.size() <= 128);
    all.insert(all.end(), batch.begin(), batch.end());
    ++batches;
  }
  CHECK(batches == 8);
  CHECK(same(all, games));
  CHECK(r.games_read() == 1000);
  CHECK_FALSE(r.next_batch(batch, 10));

  GameReader s(path);  // skip: inside a chunk, across whole chunks, then past the end
  CHECK(s.skip(10) == 10);
  REQUIRE(s.next_batch(batch, 5));
  CHECK(batch[0].moves == games[10].moves);
  CHECK(s.skip(700) == 700);  // 15 .. 714: the rest of chunk 0, chunk 1 whole, into chunk 2
  REQUIRE(s.next_batch(batch, 1));
  CHECK(batch[0].moves == games[715].moves);
  CHECK(s.games_read() == 716);
  CHECK(s.skip(1000) == 284);
  CHECK_FALSE(s.next_batch(batch, 1));

  write_games(path, {});
  CHECK(read_all_games(path).empty());
  ::unlink(path.c_str());
}

TEST_CASE("data: game file refusals name the file and the byte offset") {
  auto games = some_games(50);
  std::string path = tmp_path("bad.games");
  GameFileInfo info;
  info.games_per_chunk = 20;
  write_games(path, games, info);
  const std::string good = util::read_file(path);
  REQUIRE(refusal(path).empty());

  SUBCASE("truncated anywhere") {
    for (size_t cut : {size_t{0}, size_t{5}, size_t{30}, size_t{47}, size_t{48}, size_t{55},
                       size_t{200}, good.size() - 1}) {
      util::write_file_atomic(path, good.substr(0, cut));
      std::string m = refusal(path);
      CAPTURE(cut);
      CHECK(m.find(path) != std::string::npos);
      CHECK(m.find("byte offset") != std::string::npos);
      if (cut >= 48) CHECK(m.find("truncated") != std::string::npos);
    }
  }
  SUBCASE("corrupted payload byte: crc32") {
    std::string bad = good;
    bad[48 + 12 + 100] ^= 0x01;
    util::write_file_atomic(path, bad);
    std::string m = refusal(path);
    CHECK(m.find("crc32") != std::string::npos);
    CHECK(m.find("byte offset 48)") != std::string::npos);
  }
  SUBCASE("corrupted header") {
    std::string bad = good;
    bad[20] ^= 0x40;  // game count
    util::write_file_atomic(path, bad);
    CHECK(refusal(path).find("header crc32") != std::string::npos);
  }
  SUBCASE("wrong magic") {
    std::string bad = good;
    bad[0] = 'X';
    util::write_file_atomic(path, bad);
    std::string m = refusal(path);
    CHECK(m.find("not a game file") != std::string::npos);
    CHECK(m.find("byte offset 0") != std::string::npos);
  }
  SUBCASE("wrong version") {
    std::string bad = good;
    put_u32(bad, 8, 2);
    put_u32(bad, 44, util::crc32(bad.data(), 44));
    util::write_file_atomic(path, bad);
    std::string m = refusal(path);
    CHECK(m.find("version 2") != std::string::npos);
    CHECK(m.find("byte offset 8") != std::string::npos);
  }
  SUBCASE("zero games per chunk") {
    std::string bad = good;
    put_u32(bad, 40, 0);
    put_u32(bad, 44, util::crc32(bad.data(), 44));
    util::write_file_atomic(path, bad);
    std::string m = refusal(path);
    CHECK(m.find("0 games per chunk") != std::string::npos);
    CHECK(m.find("byte offset 40") != std::string::npos);
  }
  SUBCASE("trailing bytes") {
    util::write_file_atomic(path, good + "x");
    std::string m = refusal(path);
    CHECK(m.find("after the last game") != std::string::npos);
    CHECK(m.find("byte offset " + std::to_string(good.size())) != std::string::npos);
  }
  SUBCASE("a game with no moves") {
    // Game 0 of the first chunk forged into an empty record, the chunk's length and crc mended:
    // refused even unvalidated (it trains on nothing and exports as a line no import reads).
    std::string bad = good;
    const size_t c = 48, L0 = static_cast<unsigned char>(good[c + 12]);
    bad.erase(c + 12 + 1, L0);
    bad[c + 12] = 0;
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= uint32_t(static_cast<unsigned char>(good[c + 4 + i])) << (8 * i);
    len -= static_cast<uint32_t>(L0);
    put_u32(bad, c + 4, len);
    put_u32(bad, c + 8, util::crc32(bad.data() + c + 12, len, util::crc32(bad.data() + c, 8)));
    util::write_file_atomic(path, bad);
    std::string m = refusal(path);
    CHECK(m.find("game 0 has no moves") != std::string::npos);
    CHECK(m.find("byte offset 60") != std::string::npos);
    CHECK_THROWS_AS(read_all_games(path, /*validate=*/false), UserError);
    Game empty;
    empty.length = 0;
    CHECK(find_illegal_move(empty) == 0);
    GameFileInfo one;
    one.count = 1;
    GameWriter w(tmp_path("empty.games"), one);
    CHECK_THROWS_AS(w.write(&empty, 1), std::logic_error);
  }
  SUBCASE("an illegal game names its index and move") {
    auto bad = games;
    bad[33].moves[4] = bad[33].moves[2];  // replaying a square: occupied
    write_games(path, bad, info);
    std::string m = refusal(path);
    CHECK(m.find("game 33") != std::string::npos);
    CHECK(m.find("move 5") != std::string::npos);
    CHECK(m.find("square occupied") != std::string::npos);
    CHECK_NOTHROW(read_all_games(path, /*validate=*/false));
  }
  ::unlink(path.c_str());
}

TEST_CASE("data: find_illegal_move reasons") {
  Game g;
  g.length = 2;
  g.moves[0] = 37;  // f5
  g.moves[1] = 0;   // a1
  std::string why;
  CHECK(find_illegal_move(g, &why) == 1);
  CHECK(why == "flips nothing");
  g.moves[1] = 27;  // d4 (a centre square)
  CHECK(find_illegal_move(g, &why) == 1);
  CHECK(why == "square occupied");
  g.moves[1] = 64;
  CHECK(find_illegal_move(g, &why) == 1);
  CHECK(why == "not a square");
  g.moves[1] = 43;  // d6
  CHECK(find_illegal_move(g, &why) == -1);
  // A move after the end: take a short random game and append any square.
  for (uint64_t i = 0;; ++i) {
    Game r = random_game(1, i);
    if (r.length == 60) continue;
    r.moves[r.length] = 0;
    r.length++;
    CHECK(find_illegal_move(r, &why) == r.length - 1);
    CHECK(why == "game already over");
    break;
  }
}

TEST_CASE("data: damaged game files are refused, never crash or return garbage") {
  auto games = some_games(40, 8);
  std::string path = tmp_path("fuzz.games");
  GameFileInfo info;
  info.games_per_chunk = 16;
  write_games(path, games, info);
  const std::string good = util::read_file(path);
  GameRng rng{2024};
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = good;
    size_t at = rng.next32() % bad.size();
    if (trial % 3 == 0)
      bad.resize(at);  // truncate
    else
      bad[at] = static_cast<char>(bad[at] ^ (1 + rng.next32() % 255));  // change one byte
    util::write_file_atomic(path, bad);
    try {
      auto back = read_all_games(path);
      for (auto& g : back) REQUIRE(find_illegal_move(g) == -1);  // accepted => all legal
    } catch (const UserError& e) {
      ++refused;
      CHECK(std::string(e.what()).find("byte offset") != std::string::npos);
    }
  }
  // Every byte lies under a crc32 (which catches any burst of <= 32 bits) or is one.
  CHECK(refused == 300);
  ::unlink(path.c_str());
}
