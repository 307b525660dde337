// othello-gpt eval --model M (--games FILE | --random N [--seed S]) [--json]
// Legal top-1 rate, mean loss, entropy floor and excess loss over every position of every game.
#include <nlohmann/json.hpp>

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "data/game_file.hpp"
#include "model/evaluate.hpp"
#include "model/model_path.hpp"
#include "model/train_state.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {

struct Args {
  std::string model, games_file;
  uint64_t random = 0, seed = 1;
  int batch = 64, threads = 0;
  bool bf16 = false, json = false;
};

ogpt::cli::Command reg("eval", "Legal top-1 rate and loss of a model over a set of games", [](CLI::App& sub) {
  auto a = std::make_shared<Args>();
  sub.add_option("--model", a->model,
                 "Checkpoint file, or a training directory (its latest checkpoint); default: the shipped model");
  auto* g = sub.add_option("--games", a->games_file, "Game file to evaluate on");
  auto* r = sub.add_option("--random", a->random,
                           "Evaluate on N held-out random games instead: indices 2^62.. of stream --seed "
                           "(the validation set `train --seed S` uses)");
  g->excludes(r);
  sub.add_option("--seed", a->seed, "Stream of the --random games")->capture_default_str();
  sub.add_option("--batch", a->batch, "Games per forward pass")->capture_default_str();
  sub.add_option("--threads", a->threads, "OpenMP threads (default: all cores)");
  sub.add_flag("--bf16", a->bf16, "bf16 matmul inputs (faster; default f32)");
  sub.add_flag("--json", a->json, "JSON output");
  return [a]() -> int {
    using namespace ogpt;
    if (a->games_file.empty() && a->random == 0)
      throw UserError("give --games FILE or --random N", kUsage);
    if (a->batch < 1) throw UserError("--batch must be at least 1", kUsage);
    cli::require_count(a->random, 100000000, "--random");
    cli::require_range(a->threads, 0, 4096, "--threads");
    if (a->threads > 0) omp_set_num_threads(a->threads);
    std::vector<data::Game> games;
    if (!a->games_file.empty()) {
      games = data::read_all_games(a->games_file);
      if (games.empty()) throw UserError(a->games_file + ": no games to evaluate", kUsage);
    } else {
      games.resize(a->random);
      data::generate_games(a->seed, model::kHeldOutFirst, games.size(), games.data());
    }
    // The model's buffers are sized for --batch games: no more than there are to evaluate.
    const int batch = static_cast<int>(std::min<uint64_t>(a->batch, games.size()));
    std::string path;
    auto gpt = model::load_gpt(a->model, cli::default_model_path(), batch,
                               a->bf16 ? model::Precision::bf16 : model::Precision::f32, &path);
    model::EvalResult res;
    {
      util::Progress bar("eval", games.size(), "games");  // stderr: JSON on stdout stays clean
      res = model::evaluate(*gpt, games, &bar);
    }
    if (res.positions == 0)
      throw UserError((a->games_file.empty() ? std::string("--random") : a->games_file) +
                          ": no position with a next move to score (every game is shorter than 2 moves)",
                      kUsage);
    if (a->json) {
      nlohmann::json j = {{"model", path},
                          {"games", res.games},
                          {"positions", res.positions},
                          {"legal_top1", res.legal_top1},
                          {"loss", res.loss},
                          {"entropy_floor", res.entropy_floor},
                          {"excess_loss", res.excess_loss}};
      std::printf("%s\n", util::json_text(j, 2).c_str());
    } else {
      std::printf("model          %s (%s)\n", path.c_str(), gpt->cfg().describe().c_str());
      std::printf("games          %llu (%llu positions with a next move)\n", (unsigned long long)res.games,
                  (unsigned long long)res.positions);
      std::printf("legal top-1    %.4f%%  (error %.4f%%)\n", 100 * res.legal_top1, 100 * (1 - res.legal_top1));
      std::printf("loss           %.5f nats/move\n", res.loss);
      std::printf("entropy floor  %.5f nats/move (mean log #legal moves: the floor for uniformly random play%s)\n",
                  res.entropy_floor, a->games_file.empty() ? "" : "; not a floor for other games, e.g. human ones");
      std::printf("excess loss    %.5f nats/move\n", res.excess_loss);
    }
    return 0;
  };
});

}  // namespace
