// othello-gpt saliency --moves "..." --out map.svg: a latent saliency map (Li et al. 2023,
// Algorithm 1). For every occupied cell, flip its colour inside the model and measure how much the
// probability of the model's top-1 move drops: S_cell = p(move) - p(move | cell flipped).
#include <algorithm>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "interventions/cases.hpp"
#include "interventions/load.hpp"
#include "interventions/report.hpp"
#include "othello/game_record.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {

using namespace ogpt;
using namespace ogpt::interventions;

struct Args {
  std::string model, probe, moves, out, method = "linear", move;
  int layer = -1;
  float scale = interventions::LinearEditOptions{}.scale;
  bool single_layer = false, json = false;
};

cli::Command reg("saliency", "Latent saliency map: how much each disc's colour matters to the predicted move",
                 [](CLI::App& sub) {
  auto a = std::make_shared<Args>();
  sub.add_option("--model", a->model, "Checkpoint file or training directory (default: the shipped model)");
  sub.add_option("--probe", a->probe, "Probe file or directory of probes (default: the shipped probes)");
  sub.add_option("--moves", a->moves, "Game prefix in standard notation")->required();
  sub.add_option("--out", a->out, "SVG file to write")->required();
  sub.add_option("--method", a->method, "Flip method: linear or gradient");
  sub.add_option("--layer", a->layer, "Start layer (default 5/8 of n_layers for linear, n_layers/2 for gradient)")
      ->check(ogpt::cli::nonnegative());
  sub.add_flag("--single-layer", a->single_layer, "Edit only the start layer");
  sub.add_option("--scale", a->scale, "Linear edit scale (1 = reflection; default 4)");
  sub.add_option("--move", a->move, "Attribute this move instead of the model's top-1 (e.g. c4)");
  sub.add_flag("--json", a->json, "Also print the map as JSON");
  return [a]() -> int {
    std::vector<cli::NamedPath> inputs = {cli::model_input(a->model)};
    cli::add_probe_inputs(&inputs, a->probe);
    cli::require_outputs_apart({{"--out", a->out}}, inputs);
    util::check_writable(a->out);  // before the backward passes, not after
    const std::vector<int> moves = othello::parse_game(a->moves);
    if (moves.empty()) throw UserError("--moves: give at least one move", kUsage);
    int move = -1;
    if (!a->move.empty() && (move = othello::parse_square(a->move)) < 0)
      throw UserError("--move: '" + a->move + "' is not a square", kUsage);
    if (move >= 0) {  // an occupied square (the centre ones too) is no move the model can predict
      const othello::Board b = board_after(moves);
      if (((b.player | b.opponent) >> move) & 1)
        throw UserError("--move: " + othello::square_name(move) + " is occupied after these moves", kUsage);
    }
    InterventionOptions opt;
    opt.method = parse_method(a->method);
    opt.layer = a->layer;
    opt.all_later = !a->single_layer;
    cli::require_positive(a->scale, "--scale");
    if (a->layer < -1) throw UserError("--layer must be >= 0 (the residual stream after that many blocks)", kUsage);
    opt.linear.scale = a->scale;
    const ProbeSet probes = load_probes_arg(a->probe, cli::default_model_path());
    std::string model_path;
    auto gpt = load_gpt(a->model, cli::default_model_path(), 64, &model_path);
    if ((int)moves.size() > gpt->cfg().n_ctx)
      throw UserError("--moves: the model reads at most " + std::to_string(gpt->cfg().n_ctx) + " moves", kUsage);
    const Saliency s = latent_saliency(*gpt, probes, moves, opt, move);
    const std::string title = "Latent saliency of " + othello::square_name(s.move) + " after " +
                              othello::format_game(moves, true).substr(0, 60) + (moves.size() > 20 ? " ..." : "");
    util::write_file_atomic(a->out, saliency_svg(s, title));
    // The cells that matter most, for the terminal.
    std::vector<int> cells;
    for (int c : othello::squares_of(s.cells)) cells.push_back(c);
    std::sort(cells.begin(), cells.end(), [&](int x, int y) { return s.s[x] > s.s[y]; });
    if (a->json) {
      nlohmann::json j;
      j["move"] = othello::square_name(s.move);
      j["p"] = s.p0;
      j["saliency"] = nlohmann::json::object();
      for (int c : cells) j["saliency"][othello::square_name(c)] = s.s[c];
      std::printf("%s\n", util::json_text(j).c_str());
      return 0;
    }
    std::printf("attributed move %s (p = %.3f), %s flips from layer %s\n", othello::square_name(s.move).c_str(), s.p0,
                method_name(opt.method), a->layer < 0 ? "default" : std::to_string(a->layer).c_str());
    std::printf("most salient:");
    for (size_t i = 0; i < cells.size() && i < 6; ++i)
      std::printf(" %s %+.3f", othello::square_name(cells[i]).c_str(), s.s[cells[i]]);
    std::printf("\nwrote %s\n", a->out.c_str());
    return 0;
  };
});

}  // namespace
