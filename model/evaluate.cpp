#include "model/evaluate.hpp"

#include <bit>
#include <cmath>

#include "othello/board.hpp"
#include "util/error.hpp"

namespace ogpt::model {

using othello::Board;

std::vector<uint64_t> legal_after_each_move(const data::Game& g) {
  std::vector<uint64_t> legal(g.length, 0);
  Board b = othello::board_start();
  for (int t = 0; t < g.length; ++t) {
    if (!othello::can_move(b)) b = othello::board_pass(b);
    int sq = g.moves[t];
    if (sq < 0 || sq > 63 || !(othello::get_moves(b) >> sq & 1))
      throw UserError("game has an illegal move " + std::to_string(t + 1) + " (" +
                      (sq <= 63 ? othello::square_name(sq) : "?") + ")");
    b = othello::board_next(b, sq);
    uint64_t m = othello::get_moves(b);
    if (!m) m = othello::get_moves(othello::board_pass(b));  // the opponent passes: the player moves again
    legal[t] = m;
  }
  return legal;
}

void score_batch(const float* logits, const data::Game* games, int B, int T, int V, uint64_t* hits,
                 double* floor_sum, uint64_t* positions) {
  for (int b = 0; b < B; ++b) {
    auto legal = legal_after_each_move(games[b]);
    for (int t = 0; t + 1 < games[b].length && t < T; ++t) {
      const float* l = logits + (static_cast<size_t>(b) * T + t) * V;
      int best = 1;
      for (int v = 2; v < V; ++v)
        if (l[v] > l[best]) best = v;
      int sq = othello::token_to_square(best);
      if (sq >= 0 && (legal[t] >> sq & 1)) ++*hits;
      *floor_sum += std::log(static_cast<double>(std::popcount(legal[t])));
      ++*positions;
    }
  }
}

EvalResult evaluate(GPT& gpt, const std::vector<data::Game>& games, util::Progress* progress) {
  const int T = gpt.cfg().n_ctx, V = gpt.cfg().d_vocab, maxB = gpt.max_batch();
  EvalResult r;
  double loss_sum = 0, floor_sum = 0;
  uint64_t hits = 0;
  std::vector<uint8_t> tokens(static_cast<size_t>(maxB) * T), targets(tokens.size());
  for (size_t first = 0; first < games.size(); first += maxB) {
    int B = static_cast<int>(std::min<size_t>(maxB, games.size() - first));
    uint64_t n = 0;
    for (int b = 0; b < B; ++b) {
      data::game_to_tokens(games[first + b], &tokens[static_cast<size_t>(b) * T], &targets[static_cast<size_t>(b) * T]);
      n += static_cast<uint64_t>(data::n_targets(games[first + b]));
    }
    if (n == 0) continue;
    float loss = gpt.forward(tokens.data(), targets.data(), B);
    loss_sum += static_cast<double>(loss) * n;  // forward's loss is the mean over these n positions
    uint64_t counted = 0;
    score_batch(gpt.logits(), &games[first], B, T, V, &hits, &floor_sum, &counted);
    r.positions += counted;
    if (progress) progress->update(first + B);
  }
  r.games = games.size();
  if (r.positions) {
    r.legal_top1 = static_cast<double>(hits) / r.positions;
    r.loss = loss_sum / r.positions;
    r.entropy_floor = floor_sum / r.positions;
    r.excess_loss = r.loss - r.entropy_floor;
  }
  return r;
}

}  // namespace ogpt::model
