#include "model/evaluate.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "othello/board.hpp"
#include "util/error.hpp"

namespace ogpt::model {

using othello::Board;

std::vector<uint64_t> legal_after_each_move(const data::Game& g, std::vector<uint8_t>* opponent_passes) {
  std::vector<uint64_t> legal(g.length, 0);
  if (opponent_passes) opponent_passes->assign(g.length, 0);
  Board b = othello::board_start();
  for (int t = 0; t < g.length; ++t) {
    if (!othello::can_move(b)) b = othello::board_pass(b);
    int sq = g.moves[t];
    if (sq < 0 || sq > 63 || !(othello::get_moves(b) >> sq & 1))
      throw UserError("game has an illegal move " + std::to_string(t + 1) + " (" +
                      (sq <= 63 ? othello::square_name(sq) : "?") + ")");
    b = othello::board_next(b, sq);
    uint64_t m = othello::get_moves(b);
    if (!m) {  // the opponent passes: the player moves again
      m = othello::get_moves(othello::board_pass(b));
      if (m && opponent_passes) (*opponent_passes)[t] = 1;
    }
    legal[t] = m;
  }
  return legal;
}

void score_batch(EvalBreakdown* out, const float* logits, const data::Game* games, int B, int T, int V) {
  if (out->by_moves_seen.size() < static_cast<size_t>(T)) out->by_moves_seen.resize(T);
  std::vector<uint8_t> passes;
  for (int b = 0; b < B; ++b) {
    const auto legal = legal_after_each_move(games[b], &passes);
    for (int t = 0; t + 1 < games[b].length && t < T; ++t) {
      const float* l = logits + (static_cast<size_t>(b) * T + t) * V;
      int best = 1;
      for (int v = 2; v < V; ++v)
        if (l[v] > l[best]) best = v;
      const int sq = othello::token_to_square(best);
      const bool hit = sq >= 0 && (legal[t] >> sq & 1);
      // Cross-entropy of the move played over all V logits (padding included, as the training loss).
      double mx = l[0];
      for (int v = 1; v < V; ++v) mx = std::max(mx, double(l[v]));
      double z = 0;
      for (int v = 0; v < V; ++v) z += std::exp(double(l[v]) - mx);
      const double loss = mx + std::log(z) - l[othello::square_to_token(games[b].moves[t + 1])];
      const double floor = std::log(static_cast<double>(std::popcount(legal[t])));
      out->all.add(hit, loss, floor);
      out->by_moves_seen[t].add(hit, loss, floor);
      if (passes[t]) out->after_pass.add(hit, loss, floor);
    }
  }
}

Evaluator::Evaluator(GPT& gpt)
    : gpt_(gpt),
      tokens_(static_cast<size_t>(gpt.max_batch()) * gpt.cfg().n_ctx),
      targets_(tokens_.size()) {}

void Evaluator::add(const data::Game* games, size_t n) {
  const int T = gpt_.cfg().n_ctx, V = gpt_.cfg().d_vocab, maxB = gpt_.max_batch();
  for (size_t first = 0; first < n; first += maxB) {
    const int B = static_cast<int>(std::min<size_t>(maxB, n - first));
    uint64_t positions = 0;
    for (int b = 0; b < B; ++b) {
      data::game_to_tokens(games[first + b], &tokens_[static_cast<size_t>(b) * T],
                           &targets_[static_cast<size_t>(b) * T]);
      positions += static_cast<uint64_t>(data::n_targets(games[first + b]));
    }
    if (positions == 0) continue;
    const float loss = gpt_.forward(tokens_.data(), targets_.data(), B);
    loss_sum_ += static_cast<double>(loss) * positions;  // forward's loss is the mean over these positions
    score_batch(&breakdown_, gpt_.logits(), games + first, B, T, V);
  }
  games_ += n;
}

EvalResult Evaluator::result() const {
  EvalResult r;
  r.games = games_;
  r.breakdown = breakdown_;
  const EvalTally& all = breakdown_.all;
  r.positions = all.positions;
  if (r.positions) {
    r.legal_top1 = all.legal_top1();
    r.loss = loss_sum_ / r.positions;  // the model's own (float) loss; all.loss() recomputes it in double
    r.entropy_floor = all.entropy_floor();
    r.excess_loss = r.loss - r.entropy_floor;
  }
  return r;
}

EvalResult evaluate(GPT& gpt, const std::vector<data::Game>& games, util::Progress* progress) {
  Evaluator ev(gpt);
  const size_t step = static_cast<size_t>(gpt.max_batch());
  for (size_t first = 0; first < games.size(); first += step) {
    const size_t n = std::min(step, games.size() - first);
    ev.add(&games[first], n);
    if (progress) progress->update(first + n);
  }
  return ev.result();
}

}  // namespace ogpt::model
