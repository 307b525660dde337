#pragma once
// What a training run is (RunConfig) and where it stands (TrainState). The state travels in the
// checkpoint's `extra` blob (cereal binary, versioned), beside the f32 master weights, so that a
// resumed run continues bit for bit: optimizer moments and step, games seen, the data-stream
// position (next game index, or index in the game file plus the epoch), and the wall time so far.
// The run has no other randomness (no dropout; the weights are initialised from the seed), so the
// data-stream position is the whole RNG state.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "model/adamw.hpp"
#include "model/config.hpp"
#include "model/muon.hpp"
#include "model/schedule.hpp"
#include "util/cereal_bounded.hpp"

namespace ogpt::model {

// Held-out games are indices kHeldOutFirst.. of a stream; training uses indices 0.. of its own
// stream and never reaches 2^62, so with the default validation seed (= the training seed) the
// two sets start their generators from different states by construction (game i of stream s
// starts from splitmix64(s') + i * golden, and i -> i * golden is a bijection mod 2^64).
constexpr uint64_t kHeldOutFirst = uint64_t{1} << 62;

struct RunConfig {
  std::string preset = "8x512";
  Config cfg;
  int batch = 256;
  uint64_t total_games = 0;
  uint64_t seed = 1;           // weights init and the synthetic stream
  uint64_t val_seed = 1;       // validation = games kHeldOutFirst.. of this stream
  int val_games = 2000;
  std::string games_file;      // empty: fresh random games random_game(seed, i)
  uint64_t games_file_count = 0;
  bool bf16 = true;            // bf16 matmul inputs (f32 master weights either way)
  // The loss target. false: the move played next (Li et al.). true: the uniform distribution
  // over the legal next moves — the expected one-hot target of a uniformly random game, so the
  // same optimum and the same expected gradient without the sampling noise (--target legal).
  // Stored after the TrainState (version 2; version 1 states are next-move runs).
  bool legal_target = false;
  // AdamW everywhere, or Muon on the hidden matrices (muon.hpp). Stored after legal_target
  // (version 3; older states are AdamW runs).
  Optimizer optimizer = Optimizer::adamw;
  Schedule schedule;           // lr, warmup_steps, total_steps and decay_steps (derived), floor_frac
  AdamWHyper hyper;
  // Warmup-stable-decay: anneal over the last decay_games only (schedule.hpp); -1: the whole run
  // (cosine). Stored after the optimizer (version 4; older states are cosine runs).
  int64_t decay_games = -1;

  int64_t total_steps() const { return static_cast<int64_t>((total_games + batch - 1) / batch); }
  // ceil(decay_games / batch) without overflow for any decay_games the CLI accepts
  int64_t decay_steps() const { return decay_games < 0 ? -1 : decay_games / batch + (decay_games % batch != 0); }
  // Derives the schedule's step counts from the games (at the start and on every resume).
  void plan_schedule() {
    schedule.total_steps = total_steps();
    schedule.decay_steps = decay_steps();
  }

  template <class Archive>
  void save(Archive& ar) const {
    ar(preset, cfg, batch, total_games, seed, val_seed, val_games, games_file, games_file_count, bf16);
    ar(schedule.lr, schedule.warmup_steps, schedule.total_steps, schedule.floor_frac);
    ar(hyper.beta1, hyper.beta2, hyper.eps, hyper.weight_decay, hyper.clip);
  }
  template <class Archive>
  void load(Archive& ar) {  // the same fields; string lengths bounded (util/cereal_bounded.hpp)
    util::load_bounded(ar, preset, "the preset name");
    ar(cfg, batch, total_games, seed, val_seed, val_games);
    util::load_bounded(ar, games_file, "the game file name");
    ar(games_file_count);
    util::load_bool(ar, bf16, "the bf16 flag");
    ar(schedule.lr, schedule.warmup_steps, schedule.total_steps, schedule.floor_frac);
    ar(hyper.beta1, hyper.beta2, hyper.eps, hyper.weight_decay, hyper.clip);
  }
};

struct TrainState {
  RunConfig run;
  int64_t step = 0;            // optimizer steps done
  uint64_t games_seen = 0;
  uint64_t data_pos = 0;       // next game index (synthetic) or index in the game file
  uint64_t epoch = 0;          // passes over the game file completed
  double wall_s = 0;           // training wall time summed over sessions
  int threads = 0;             // thread count of the last session (bit-exact resume needs the same)
  AdamWState opt;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(run, step, games_seen, data_pos, epoch, wall_s, threads, opt);
  }
};

constexpr uint32_t kTrainStateVersion = 4;

// The checkpoint `extra` blob: "OGPTTRST", u32 version, then the cereal binary of TrainState.
std::string encode_train_state(const TrainState& s);
// Throws UserError naming `path` if the blob is not a training state (e.g. an imported model
// or a checkpoint saved by eval tools) or has a newer version.
TrainState decode_train_state(std::string_view blob, const std::string& path);

// The run config to continue with when resuming `stored` with the command-line `requested`, of
// which only the fields named in `given` were given explicitly (names as the CLI options:
// "preset", "batch", "games", "decay-games", "seed", "target", "val-seed", "val-games", "games-file", "precision", "optimizer", "lr",
// "warmup", "lr-floor", "beta1", "beta2", "eps", "wd", "clip"). Fields not given keep their stored
// values. A given field that differs is refused (UserError, kUsage) naming the option and both
// values, except "games" and "decay-games", which may change (the schedule is re-planned: more
// games to train longer, fewer to finish sooner, train() refusing fewer than already seen; a new
// --decay-games turns a trunk held at the peak into its decay, or a cosine run into a trunk).
RunConfig merge_resume(const RunConfig& stored, const RunConfig& requested,
                       const std::set<std::string>& given, const std::string& dir);

}  // namespace ogpt::model
