// othello-gpt eval --model M (--games FILE | --random N [--seed S]) [--breakdown] [--svg F] [--json]
// Legal top-1 rate, mean loss, entropy floor and excess loss over every position of every game;
// with --breakdown, where the errors are: by moves seen, and after a pass.
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
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"
#include "util/svg_plot.hpp"

namespace {

struct Args {
  std::string model, games_file, svg;
  uint64_t random = 0, seed = 1;
  int batch = 64, threads = 0;
  bool bf16 = false, json = false, breakdown = false;
};

nlohmann::json tally_json(const ogpt::model::EvalTally& t) {
  return {{"positions", t.positions},
          {"illegal_top1", t.positions - t.hits},
          {"legal_top1", t.legal_top1()},
          {"loss", t.loss()},
          {"entropy_floor", t.entropy_floor()},
          {"excess_loss", t.excess_loss()}};
}

// Error and excess loss against moves seen, one above the other; the after-pass error in the title.
std::string breakdown_svg(const ogpt::model::EvalBreakdown& b) {
  using ogpt::util::Plot;
  Plot err, exc;
  ogpt::util::Series e, x;
  e.name = "illegal top-1 %";
  x.name = "excess loss (nats)";
  e.markers = x.markers = true;
  for (size_t k = 0; k < b.by_moves_seen.size(); ++k) {
    const auto& t = b.by_moves_seen[k];
    if (!t.positions) continue;
    e.x.push_back(double(k + 1));
    e.y.push_back(100.0 * (1.0 - t.legal_top1()));
    x.x.push_back(double(k + 1));
    x.y.push_back(t.excess_loss());
  }
  char ap[96] = "none after a pass";
  if (b.after_pass.positions)
    std::snprintf(ap, sizeof ap, "after a pass: %.3f%% of %llu positions", 100.0 * (1.0 - b.after_pass.legal_top1()),
                  (unsigned long long)b.after_pass.positions);
  err.title = std::string("Illegal top-1 by moves seen (") + ap + ")";
  err.x_label = exc.x_label = "moves seen (the model predicts the next)";
  err.y_label = "illegal top-1 (% of positions)";
  err.series.push_back(std::move(e));
  exc.title = "Excess loss by moves seen (loss minus the entropy floor)";
  exc.y_label = "excess loss";
  exc.series.push_back(std::move(x));
  err.width = exc.width = 720;
  err.y_min = 0;
  return ogpt::util::render_svg_grid({err, exc}, 1);
}

void print_breakdown(const ogpt::model::EvalBreakdown& b) {
  const uint64_t errors = b.all.positions - b.all.hits;
  auto share = [&](const ogpt::model::EvalTally& t) { return errors ? 100.0 * double(t.positions - t.hits) / errors : 0.0; };
  std::printf("\nwhere the errors are (illegal top-1; %% of them; excess loss), by moves seen:\n");
  std::printf("  moves seen  positions  illegal top-1        share  excess loss\n");
  for (size_t lo = 0; lo < b.by_moves_seen.size(); lo += 5) {
    ogpt::model::EvalTally t;
    for (size_t k = lo; k < std::min(lo + 5, b.by_moves_seen.size()); ++k) t.add(b.by_moves_seen[k]);
    if (!t.positions) continue;
    std::printf("  %4zu-%-5zu %10llu  %6llu (%.3f%%)  %6.1f%%  %11.5f\n", lo + 1,
                std::min(lo + 5, b.by_moves_seen.size()), (unsigned long long)t.positions,
                (unsigned long long)(t.positions - t.hits), 100.0 * (1.0 - t.legal_top1()), share(t), t.excess_loss());
  }
  const auto& p = b.after_pass;
  if (!p.positions) {
    std::printf("  after a pass (the same colour moves again): no such position in these games\n");
    return;
  }
  std::printf("  after a pass (the same colour moves again): %llu positions (%.2f%%), %llu illegal top-1 (%.3f%%, "
              "%.1f%% of the errors), excess loss %.5f\n",
              (unsigned long long)p.positions, b.all.positions ? 100.0 * double(p.positions) / b.all.positions : 0.0,
              (unsigned long long)(p.positions - p.hits), 100.0 * (1.0 - p.legal_top1()), share(p), p.excess_loss());
}

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
  sub.add_flag("--breakdown", a->breakdown,
               "Where the errors are: illegal top-1 and excess loss by moves seen, and after a pass (the same "
               "colour moving twice, which no token marks)");
  sub.add_option("--svg", a->svg, "Write that breakdown as a picture (SVG): error and excess loss against moves seen");
  sub.add_flag("--json", a->json, "JSON output");
  return [a]() -> int {
    using namespace ogpt;
    if (a->games_file.empty() && a->random == 0)
      throw UserError("give --games FILE or --random N", kUsage);
    if (a->batch < 1) throw UserError("--batch must be at least 1", kUsage);
    cli::require_count(a->random, 100000000, "--random");
    cli::require_range(a->threads, 0, 4096, "--threads");
    if (a->threads > 0) omp_set_num_threads(a->threads);
    cli::require_outputs_apart({{"--svg", a->svg}}, {cli::model_input(a->model), {"--games", a->games_file}});
    if (!a->svg.empty()) util::check_writable(a->svg);  // before the evaluation, not after
    // The games stream through in slices: a file of millions of games, or --random 1e8, never
    // sits in memory whole. A file's header count is checked against its chunks as they are read.
    std::unique_ptr<data::GameReader> reader;
    uint64_t total = a->random;
    if (!a->games_file.empty()) {
      reader = std::make_unique<data::GameReader>(a->games_file);
      total = reader->count();
      if (total == 0) {
        std::vector<data::Game> none;
        reader->next_batch(none, 1);  // throws (with its byte offset) if chunks follow a header claiming 0 games
        throw UserError(a->games_file + ": no games to evaluate", kUsage);
      }
    }
    // The model's buffers are sized for --batch games: no more than there are to evaluate.
    const int batch = static_cast<int>(std::min<uint64_t>(a->batch, total));
    std::string path;
    auto gpt = model::load_gpt(a->model, cli::default_model_path(), batch,
                               a->bf16 ? model::Precision::bf16 : model::Precision::f32, &path);
    model::EvalResult res;
    {
      util::Progress bar("eval", total, "games");  // stderr: JSON on stdout stays clean
      model::Evaluator ev(*gpt);
      constexpr size_t kSlice = 1 << 14;  // games in memory at a time (1 MB)
      std::vector<data::Game> slice;
      if (reader) {
        while (reader->next_batch(slice, kSlice)) {
          ev.add(slice.data(), slice.size());
          bar.update(reader->games_read());
        }
      } else {
        slice.resize(std::min<uint64_t>(kSlice, total));
        for (uint64_t first = 0; first < total; first += slice.size()) {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(slice.size(), total - first));
          data::generate_games(a->seed, model::kHeldOutFirst + first, n, slice.data());
          ev.add(slice.data(), n);
          bar.update(first + n);
        }
      }
      res = ev.result();
    }
    if (res.positions == 0)
      throw UserError((a->games_file.empty() ? std::string("--random") : a->games_file) +
                          ": no position with a next move to score (every game is shorter than 2 moves)",
                      kUsage);
    const model::EvalBreakdown& bd = res.breakdown;
    if (!a->svg.empty()) util::write_file_atomic(a->svg, breakdown_svg(bd));
    if (a->json) {
      nlohmann::json j = {{"model", path},
                          {"games", res.games},
                          {"positions", res.positions},
                          {"legal_top1", res.legal_top1},
                          {"loss", res.loss},
                          {"entropy_floor", res.entropy_floor},
                          {"excess_loss", res.excess_loss}};
      if (a->breakdown) {
        j["after_pass"] = tally_json(bd.after_pass);
        nlohmann::json rows = nlohmann::json::array();
        for (size_t k = 0; k < bd.by_moves_seen.size(); ++k)
          if (bd.by_moves_seen[k].positions) {
            nlohmann::json r = tally_json(bd.by_moves_seen[k]);
            r["moves_seen"] = k + 1;
            rows.push_back(std::move(r));
          }
        j["by_moves_seen"] = std::move(rows);
      }
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
      if (a->breakdown) print_breakdown(bd);
    }
    return 0;
  };
});

}  // namespace
