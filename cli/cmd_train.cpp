// othello-gpt train --preset 8x512 --batch 256 --games N --out DIR [--resume] ...
// Thin: turns the options into a model::TrainOptions, runs model::train, prints the summary.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "model/trainer.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {

struct Args {
  ogpt::model::TrainOptions opt;
  std::string preset = "8x512";
  uint64_t games = 1'000'000;
  bool f32 = false, bf16 = false, json = false;
  std::string target = "next-move";
  std::string optimizer = "adamw";
  double lr = 5e-4, floor = 0.1;
  int64_t warmup = -1;
  int64_t decay_games = -1;
};

ogpt::cli::Command reg("train", "Train Othello-GPT on random games (resumable, exact)", [](CLI::App& sub) {
  auto a = std::make_shared<Args>();
  auto& o = a->opt;
  sub.add_option("--preset", a->preset, "Model shape (8x512 = Li et al.; 2x64 for quick tests)")->capture_default_str();
  sub.add_option("--batch", o.run.batch, "Games per step")->capture_default_str()->check(ogpt::cli::positive());
  sub.add_option("--games", a->games, "Total games to train on (steps = ceil(games / batch))")->capture_default_str()->check(ogpt::cli::positive());
  sub.add_option("--out", o.out_dir, "Run directory: latest.ckpt, previous.ckpt, log.csv, curve.svg")->required();
  sub.add_flag("--resume", o.resume,
               "Continue the run in --out exactly where its latest checkpoint left it (only --games and "
               "--decay-games may change, which re-plans the schedule: longer, or shorter to finish sooner; "
               "other run options must match or be left out)");
  sub.add_option("--init-from", o.init_from,
                 "Start a new run from these weights (a model checkpoint or run directory, same preset) instead "
                 "of a random init, with a fresh optimizer: continue training from shipped or committed weights");
  sub.add_option("--seed", o.run.seed, "Seed of the weights and of the random-game stream")->capture_default_str();
  sub.add_option("--val-seed", o.run.val_seed,
                 "Stream of the validation games (default: --seed; validation uses game indices from "
                 "2^62 on, training from 0, so they never share a game index)");
  sub.add_option("--val-games", o.run.val_games, "Held-out games for validation")->capture_default_str()->check(ogpt::cli::positive());
  sub.add_option("--games-file", o.run.games_file,
                 "Train on this game file in order (wrapping around, counting epochs) instead of fresh random games");
  auto* fb = sub.add_flag("--bf16", a->bf16, "bf16 matmul inputs, f32 master weights (default where the CPU has bf16 matmuls: AVX512-BF16 or AMX; f32 elsewhere)");
  auto* ff = sub.add_flag("--f32", a->f32, "f32 throughout");
  fb->excludes(ff);
  sub.add_option("--target", a->target,
                 "Loss target: next-move (the move played, as Li et al.) or legal (uniform over the legal "
                 "next moves: the expected next-move target of a random game, same optimum, no sampling noise)")
      ->check(CLI::IsMember({"next-move", "legal"}))
      ->capture_default_str();
  sub.add_option("--optimizer", a->optimizer,
                 "adamw, or muon: Muon (orthogonalised momentum) on the hidden matrices W_Q/W_K/W_V/W_O/W_in/W_out, "
                 "AdamW on the rest, one --lr for both (model/muon.hpp)")
      ->check(CLI::IsMember({"adamw", "muon"}))
      ->capture_default_str();
  sub.add_option("--lr", a->lr, "Peak learning rate (AdamW; Muon's update is scaled to the same RMS)")->capture_default_str();
  sub.add_option("--warmup", a->warmup, "Linear warmup steps (default: 200, at most 10% of the steps)")
      ->check(ogpt::cli::nonnegative());
  sub.add_option("--lr-floor", a->floor, "Final lr of the cosine, as a fraction of --lr")->capture_default_str();
  sub.add_option("--decay-games", a->decay_games,
                 "Warmup-stable-decay: hold the peak lr and anneal (cosine to --lr-floor) over the last N games "
                 "only; 0 holds the peak to the end, a trunk to branch decays off (README, \"Training over many "
                 "sessions\"). May change on --resume. Default: anneal over the whole run");
  sub.add_option("--beta1", o.run.hyper.beta1, "AdamW beta1")->capture_default_str();
  sub.add_option("--beta2", o.run.hyper.beta2, "AdamW beta2")->capture_default_str();
  sub.add_option("--eps", o.run.hyper.eps, "AdamW epsilon")->capture_default_str();
  sub.add_option("--wd", o.run.hyper.weight_decay, "Weight decay (matrices and embeddings only)")->capture_default_str();
  sub.add_option("--clip", o.run.hyper.clip, "Clip the global gradient norm to this (0: off)")->capture_default_str();
  sub.add_option("--val-every", o.val_every, "Validate every this many steps (0: at start and end only)")->capture_default_str()->check(ogpt::cli::nonnegative());
  sub.add_option("--log-every", o.log_every, "Steps per row of log.csv")->capture_default_str()->check(ogpt::cli::positive());
  sub.add_option("--ckpt-every-minutes", o.ckpt_every_minutes,
                 "Checkpoint at least this often (a kill -9 loses at most this much; 0: every step)")
      ->capture_default_str()
      ->check(ogpt::cli::nonnegative());
  sub.add_option("--snapshot-every-games", o.snapshot_every_games,
                 "Also keep the weights (f32, no optimizer state) each time the games seen pass a multiple of N, "
                 "as DIR/snapshots/games-N.ckpt, to average later (othello-gpt average: stochastic weight averaging)");
  sub.add_option("--stop-after", o.stop_after_steps, "End this session after this many steps (checkpointed; --resume continues)")
      ->check(ogpt::cli::positive());
  sub.add_option("--stop-after-minutes", o.stop_after_minutes, "End this session after this many minutes")->check(ogpt::cli::positive());
  sub.add_option("--threads", o.threads, "OpenMP threads (default: all cores); keep it fixed across a run for bit-exact resumes");
  sub.add_flag("--json", a->json, "Print a JSON summary on stdout at the end");
  sub.footer(
      "A run is deterministic for a fixed seed and thread count, and resuming gives the same weights "
      "as an unbroken run. Ctrl-C finishes the current step, saves and exits (code 130). A non-finite "
      "loss or gradient stops the run (code 5) and keeps the last good checkpoint.");
  return [a, &sub]() -> int {
    using namespace ogpt;
    auto& o = a->opt;
    for (const char* name : {"preset", "batch", "games", "decay-games", "seed", "target", "val-seed", "val-games", "games-file", "optimizer", "lr",
                             "warmup", "lr-floor", "beta1", "beta2", "eps", "wd", "clip"})
      if (sub.count(std::string("--") + name)) o.given.insert(name);
    if (a->bf16 || a->f32) o.given.insert("precision");
    o.run.preset = a->preset;
    o.run.cfg = model::preset(a->preset);
    o.run.total_games = a->games;
    o.run.bf16 = !a->f32;
    o.run.legal_target = a->target == "legal";
    o.run.optimizer = model::parse_optimizer(a->optimizer);
    if (!sub.count("--val-seed")) o.run.val_seed = o.run.seed;
    o.run.schedule.lr = a->lr;
    o.run.schedule.warmup_steps = a->warmup;
    o.run.schedule.floor_frac = a->floor;
    o.run.decay_games = a->decay_games;
    if (sub.count("--decay-games")) cli::require_nonnegative(a->decay_games, "--decay-games");
    cli::require_positive(a->lr, "--lr");
    cli::require_in(a->floor, 0, 1, "--lr-floor", true);
    cli::require_in(o.run.hyper.beta1, 0, 1, "--beta1");
    cli::require_in(o.run.hyper.beta2, 0, 1, "--beta2");
    cli::require_positive(o.run.hyper.eps, "--eps");
    cli::require_nonnegative(o.run.hyper.weight_decay, "--wd");
    cli::require_nonnegative(o.run.hyper.clip, "--clip");
    if (o.run.val_games < 1) throw UserError("--val-games must be at least 1", kUsage);
    cli::require_count(o.snapshot_every_games, uint64_t(1) << 40, "--snapshot-every-games");
    model::StopOnSignals stop_on_signals;
    model::TrainResult r = model::train(o);
    std::fprintf(stderr, "%s\n", r.message.c_str());
    if (a->json) {
      const char* status[] = {"done", "stopped", "interrupted", "non_finite"};
      nlohmann::json j = {{"status", status[static_cast<int>(r.status)]},
                          {"steps", r.step},
                          {"games", r.games_seen},
                          {"wall_s", r.wall_s},
                          {"session_s", r.session_s},
                          {"games_per_s", r.games_per_s},
                          {"train_loss", r.train_loss},
                          {"train_excess", r.train_excess},
                          {"val_loss", r.val.loss},
                          {"val_excess", r.val.excess_loss},
                          {"val_legal_top1", r.val.legal_top1},
                          {"checkpoint", r.checkpoint}};
      std::printf("%s\n", util::json_text(j, 2).c_str());
    }
    switch (r.status) {
      case model::TrainStatus::non_finite: return kNonFinite;
      case model::TrainStatus::interrupted: return kInterrupted;
      default: return kOk;
    }
  };
});

}  // namespace
