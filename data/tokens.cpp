// Token batches for the trainer and the entropy floor of random games.
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "data/game.hpp"
#include "othello/board.hpp"
#include "util/error.hpp"

namespace ogpt::data {

namespace {
// square -> token, from the engine's square_to_token (centre squares and bytes > 63 -> 0).
struct TokenTable {
  uint8_t of[256] = {};
  TokenTable() {
    for (int sq = 0; sq < 64; ++sq)
      of[sq] = static_cast<uint8_t>(othello::is_centre(sq) ? 0 : othello::square_to_token(sq));
  }
};
const TokenTable& token_table() {
  static const TokenTable t;  // built on first use: safe from static-initialisation order
  return t;
}
}  // namespace

void game_to_tokens(const Game& g, uint8_t* tokens, uint8_t* targets) {
  // tokens, targets: [kContext]
  const TokenTable& tok = token_table();
  int len = g.length > 60 ? 60 : g.length;
  for (int t = 0; t < kContext; ++t) {
    tokens[t] = t < len ? tok.of[g.moves[t]] : 0;
    targets[t] = t + 1 < len ? tok.of[g.moves[t + 1]] : 0;
  }
}

void make_batch(const Game* games, int B, uint8_t* tokens, uint8_t* targets) {
  // games: [B]; tokens, targets: [B, kContext]
  for (int b = 0; b < B; ++b)
    game_to_tokens(games[b], tokens + static_cast<size_t>(b) * kContext,
                   targets + static_cast<size_t>(b) * kContext);
}

int n_targets(const Game& g) { return g.length > 1 ? g.length - 1 : 0; }

namespace {
// Replays g, calling fn(t, legal) with the legal squares for move t (those of the player who
// actually moves, after a forced pass) before move t is played. Throws UserError naming `who`
// and the move if one is illegal.
template <class F>
void replay_legal(const Game& g, const char* who, F&& fn) {
  using namespace othello;
  const int len = g.length > 60 ? 60 : g.length;
  Board b = board_start();
  for (int t = 0; t < len; ++t) {
    Bitboard m = get_moves(b);
    if (!m) {
      b = board_pass(b);
      m = get_moves(b);
    }
    const int sq = g.moves[t];
    if (sq > 63 || !((m >> sq) & 1))
      throw UserError(std::string(who) + ": move " + std::to_string(t + 1) + " (" + square_name(sq) +
                      ") is not legal");
    fn(t, m);
    b = board_next(b, sq);
  }
}
}  // namespace

double entropy_floor(const Game& g) {
  double sum = 0;
  replay_legal(g, "entropy_floor", [&](int t, othello::Bitboard m) {
    if (t > 0) sum += std::log(static_cast<double>(std::popcount(m)));  // move t is a target
  });
  return sum;
}

double game_to_legal_sets(const Game& g, uint64_t* sets) {
  // sets: [kContext]
  const TokenTable& tok = token_table();
  std::memset(sets, 0, sizeof(uint64_t) * kContext);
  double floor = 0;
  replay_legal(g, "game_to_legal_sets", [&](int t, othello::Bitboard m) {
    if (t == 0) return;  // move t is the target of position t-1
    uint64_t s = 0;
    for (int q : othello::squares_of(m)) s |= uint64_t{1} << tok.of[q];
    sets[t - 1] = s;
    floor += std::log(static_cast<double>(std::popcount(m)));
  });
  return floor;
}

}  // namespace ogpt::data
