// othello-gpt widen --model M --preset 8x512 --out FILE [--noise S] [--seed N] [--json]
// Widens a trained model to a wider preset computing the same function (model/widen.hpp), so a
// run of the wider model can start from it: `train --preset 8x512 --init-from FILE`.
// The command checks its own work: both models run on random games and must agree.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "data/game.hpp"
#include "model/checkpoint.hpp"
#include "model/gpt.hpp"
#include "model/model_path.hpp"
#include "model/widen.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {

struct Opts {
  std::string model, preset = "8x512", out;
  float noise = 0.02f;
  uint64_t seed = 1;
  int check_games = 64;
  bool json = false;
};

struct Agreement {
  double max_abs_diff = 0, max_abs_logit = 0;
  int positions = 0, same_top1 = 0;
};

// Both models in f32 on the same random games (stream 0xC0FFEE, not a training stream).
Agreement compare(const ogpt::model::ParamBlock& narrow, const ogpt::model::ParamBlock& wide, int n_games) {
  using namespace ogpt;
  std::vector<data::Game> games(n_games);
  data::generate_games(0xC0FFEE, 0, games.size(), games.data(), 1);
  const int T = narrow.cfg.n_ctx, V = narrow.cfg.d_vocab;
  std::vector<uint8_t> tok(size_t(n_games) * T), tgt(size_t(n_games) * T);
  data::make_batch(games.data(), n_games, tok.data(), tgt.data());
  model::GPT a(narrow.cfg, n_games, model::Precision::f32), b(wide.cfg, n_games, model::Precision::f32);
  a.params = narrow;
  b.params = wide;
  a.mark_params_changed();
  b.mark_params_changed();
  a.forward(tok.data(), nullptr, n_games);
  b.forward(tok.data(), nullptr, n_games);
  Agreement r;
  for (size_t p = 0; p < tok.size(); ++p) {
    if (tok[p] == 0) continue;  // padding after a short game
    const float *x = a.logits() + p * V, *y = b.logits() + p * V;
    for (int v = 0; v < V; ++v) {
      const double d = std::fabs(x[v] - y[v]);
      // A NaN must stick: std::max would drop it (once it is NaN, d > NaN is false).
      if (std::isnan(d) || d > r.max_abs_diff) r.max_abs_diff = d;
      r.max_abs_logit = std::max(r.max_abs_logit, double(std::fabs(x[v])));
    }
    ++r.positions;
    r.same_top1 += (std::max_element(x + 1, x + V) - x) == (std::max_element(y + 1, y + V) - y);
  }
  return r;
}

ogpt::cli::Command reg("widen", "Widen a trained model to a wider preset that computes the same function (to train a wider model from it)",
                       [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--model", o->model, "Model to widen (checkpoint, run directory or model directory; default: the shipped model)");
  sub.add_option("--preset", o->preset, "Wider shape: same layers and heads, d_model a whole multiple, d_head and d_mlp no smaller")
      ->capture_default_str();
  sub.add_option("--out", o->out, "Model checkpoint to write (then: train --preset P --init-from OUT)")->required();
  sub.add_option("--noise", o->noise,
                 "Std of the weights the new units and the extra residual copies read with (the copies of "
                 "an old weight still sum to it). 0 gives exact copies that training cannot pull apart")
      ->capture_default_str();
  sub.add_option("--seed", o->seed, "Seed of the noise")->capture_default_str();
  sub.add_option("--check-games", o->check_games, "Random games both models run on to check they agree")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  sub.add_flag("--json", o->json, "Print the summary as JSON");
  return [o]() -> int {
    using namespace ogpt;
    cli::require_in(o->noise, 0.0, 1.0, "--noise", true);
    std::string path;
    model::LoadedCheckpoint in = model::load_model(o->model, cli::default_model_path(), &path);
    cli::require_not_input(o->out, path, "--out");
    const model::Config to = model::preset(o->preset);
    if (std::string why = model::widening_problem(in.params.cfg, to); !why.empty())
      throw UserError("--model " + path + ": " + why, kUsage);
    model::ParamBlock wide = model::widen_params(in.params, to, o->noise, o->seed);
    Agreement ag = compare(in.params, wide, o->check_games);
    // f32 sums of split weights round differently from the originals: a few 1e-6 of the logits'
    // scale. Anything near a logit's own size is a bug in the widening, not rounding.
    const double tolerance = 1e-3 * std::max(1.0, ag.max_abs_logit);
    if (!(ag.max_abs_diff <= tolerance))
      throw UserError("widen: the widened model disagrees with " + path + " (max |logit difference| " +
                          std::to_string(ag.max_abs_diff) + "); not written",
                      kInternal);
    // f32 only: bf16 would round the copies of a split weight one by one, and their sums drift
    // from the narrow weights (measured on the shipped model: logits off by 0.16, not 7.6e-5).
    model::save_checkpoint(o->out, wide, model::WeightDtype::f32);
    if (o->json) {
      nlohmann::json j = {{"model", path},
                          {"out", o->out},
                          {"from", in.params.cfg.describe()},
                          {"to", to.describe()},
                          {"parameters_from", model::param_count(in.params.cfg)},
                          {"parameters_to", model::param_count(to)},
                          {"noise", o->noise},
                          {"seed", o->seed},
                          {"check", {{"games", o->check_games}, {"positions", ag.positions},
                                     {"max_abs_logit_diff", ag.max_abs_diff},
                                     {"top1_agreement", double(ag.same_top1) / std::max(1, ag.positions)}}}};
      std::printf("%s\n", util::json_text(j, 1).c_str());
      return 0;
    }
    std::printf("widened   %s\n          %s -> %s (%zu -> %zu parameters, noise %g, seed %llu)\n", path.c_str(),
                in.params.cfg.describe().c_str(), to.describe().c_str(), model::param_count(in.params.cfg),
                model::param_count(to), o->noise, (unsigned long long)o->seed);
    std::printf("check     %d random games, %d positions: max |logit difference| %.2g, same top-1 move at %.3f%%\n",
                o->check_games, ag.positions, ag.max_abs_diff, 100.0 * ag.same_top1 / std::max(1, ag.positions));
    std::printf("wrote     %s (f32)\nnext      othello-gpt train --preset %s --init-from %s ...\n", o->out.c_str(),
                o->preset.c_str(), o->out.c_str());
    return 0;
  };
});

}  // namespace
