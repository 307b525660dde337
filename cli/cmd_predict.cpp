// othello-gpt predict --model M --moves "f5 d6 c3" [--top K] [--json]
// The board after the moves and the model's distribution over the next move.
//
// The model's output has 61 logits: token 0 (padding) and the 60 non-centre squares. The padding
// token is never a move, so it is dropped and the softmax is taken over the 60 squares only
// (probabilities sum to 1 over the squares). Centre squares (d4 e4 d5 e5) can never be played
// and are absent from the JSON "probabilities".
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "model/gpt.hpp"
#include "model/model_path.hpp"
#include "othello/board.hpp"
#include "othello/game_record.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {

struct Args {
  std::string model, moves;
  int top = 10;
  bool json = false;
};

ogpt::cli::Command reg("predict", "The model's next-move distribution after some moves", [](CLI::App& sub) {
  auto a = std::make_shared<Args>();
  sub.add_option("--model", a->model,
                 "Checkpoint file, or a training directory (its latest checkpoint); default: the shipped model");
  sub.add_option("--moves", a->moves, "The game so far in standard notation, e.g. \"f5 d6 c3\" (at least one move)")
      ->required();
  sub.add_option("--top", a->top, "How many of the most probable moves to list")->capture_default_str();
  sub.add_flag("--json", a->json,
               "JSON: to_move, legal, probabilities (the 60 non-centre squares; softmax over them, padding excluded)");
  return [a]() -> int {
    using namespace ogpt;
    using namespace ogpt::othello;
    cli::require_range(a->top, 1, 60, "--top");
    std::vector<int> squares = parse_game(a->moves);
    if (squares.empty())
      throw UserError("--moves: give at least one move (the model predicts from the first move on)", kUsage);
    std::vector<Board> boards = replay(squares);
    Board b = boards.back();
    if (!can_move(b)) b = board_pass(b);  // the side to move passes: the other side moves next
    Bitboard legal = get_moves(b);
    if (!legal) throw UserError("--moves: the game is over after move " + std::to_string(squares.size()), kUsage);

    std::string path;
    auto gpt = model::load_gpt(a->model, cli::default_model_path(), 1, model::Precision::f32, &path);
    const model::Config& cfg = gpt->cfg();
    if (static_cast<int>(squares.size()) > cfg.n_ctx)
      throw UserError("--moves: the model reads at most " + std::to_string(cfg.n_ctx) + " moves", kUsage);
    std::vector<uint8_t> tokens(cfg.n_ctx, 0);
    for (size_t i = 0; i < squares.size(); ++i) tokens[i] = static_cast<uint8_t>(square_to_token(squares[i]));
    gpt->forward(tokens.data(), nullptr, 1);
    const float* l = gpt->logits() + (squares.size() - 1) * cfg.d_vocab;

    // Softmax over the 60 square tokens (1..60).
    double mx = -INFINITY, z = 0;
    for (int t = 1; t <= 60; ++t) mx = std::max(mx, static_cast<double>(l[t]));
    std::vector<double> p(61, 0.0);
    for (int t = 1; t <= 60; ++t) z += (p[t] = std::exp(l[t] - mx));
    for (int t = 1; t <= 60; ++t) p[t] /= z;
    std::vector<int> order(60);
    std::iota(order.begin(), order.end(), 1);
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return p[x] > p[y]; });
    double p_legal = 0;
    for (int t = 1; t <= 60; ++t)
      if (legal >> token_to_square(t) & 1) p_legal += p[t];

    if (a->json) {
      nlohmann::json j;
      j["to_move"] = color_name(b.to_move);
      j["legal"] = nlohmann::json::array();
      for (int sq = 0; sq < 64; ++sq)
        if (legal >> sq & 1) j["legal"].push_back(square_name(sq));
      nlohmann::json probs = nlohmann::json::object();
      for (int t = 1; t <= 60; ++t) probs[square_name(token_to_square(t))] = p[t];
      j["probabilities"] = probs;
      j["top1"] = square_name(token_to_square(order[0]));
      j["p_legal"] = p_legal;
      std::printf("%s\n", util::json_text(j, 2).c_str());
      return 0;
    }
    std::printf("%s", board_to_string(b, legal).c_str());
    std::printf("%s to move; legal (*): ", color_name(b.to_move));
    for (int sq = 0; sq < 64; ++sq)
      if (legal >> sq & 1) std::printf("%s ", square_name(sq).c_str());
    std::printf("\nmodel %s: next move (softmax over the 60 squares, padding excluded)\n", path.c_str());
    const int k = a->top;
    for (int i = 0; i < k; ++i) {
      int sq = token_to_square(order[i]);
      std::printf("  %2d. %s  %7.3f%%  %s\n", i + 1, square_name(sq).c_str(), 100 * p[order[i]],
                  (legal >> sq & 1) ? "legal" : "ILLEGAL");
    }
    std::printf("probability on legal moves: %.3f%%\n", 100 * p_legal);
    return 0;
  };
});

}  // namespace
