#pragma once
// The training loop of `othello-gpt train`: AdamW + warmup/cosine + gradient clipping on batches
// of games (fresh random games generated on the fly, or a game file streamed in order with wrap
// around), periodic validation on fixed held-out games, a CSV log and an SVG curve, and atomic
// checkpoints that make a run resumable bit for bit.
//
// Files in the output directory:
//   latest.ckpt    f32 master weights + TrainState (optimizer, step, data position; train_state.hpp)
//   previous.ckpt  the checkpoint before it (a hard link kept when latest.ckpt is replaced)
//   log.csv, curve.svg  (train_log.hpp)
//   snapshots/games-N.ckpt  with snapshot_every_games: the weights alone, to average (average.hpp)
// Checkpoints are written at the start of a new run, every ckpt_every_minutes, when the session
// stops (end, --stop-after, Ctrl-C) — each atomically, so a kill -9 loses at most one interval.
//
// Determinism: for a fixed run config and thread count, the weights after N steps do not depend
// on how the N steps were split into sessions (tests/test_train_resume.cpp checks it).
#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "model/evaluate.hpp"
#include "model/train_state.hpp"

namespace ogpt::model {

struct TrainOptions {
  RunConfig run;                  // as requested; schedule.warmup_steps < 0 = automatic
  std::set<std::string> given;    // run options given explicitly (see merge_resume)
  std::string out_dir;
  bool resume = false;
  std::string init_from;          // a new run starts from these weights (a model checkpoint) instead of
                                  // a random init: how a run continues from committed weights
  int64_t val_every = 200;        // steps between validations (0: only at the start and the end)
  int64_t log_every = 10;         // steps per log.csv row
  double ckpt_every_minutes = 10; // 0: after every step
  uint64_t snapshot_every_games = 0;  // > 0: also keep the weights each time games seen pass a multiple
  int64_t stop_after_steps = 0;   // end this session after this many steps (0: no limit)
  double stop_after_minutes = 0;  // end this session after this long (0: no limit)
  int threads = 0;                // OpenMP threads (0: the default)
  bool progress = true;           // progress bar and messages on stderr
  std::function<void(const TrainState&)> on_step;  // called after each step (tests)
};

enum class TrainStatus { done, stopped, interrupted, non_finite };

struct TrainResult {
  TrainStatus status = TrainStatus::done;
  int64_t step = 0;
  uint64_t games_seen = 0;
  double wall_s = 0;             // over all sessions
  double session_s = 0;
  double games_per_s = 0;        // this session
  double train_loss = NAN, train_excess = NAN;  // mean of the last log interval
  EvalResult val;                // the last validation
  std::string checkpoint;        // the file holding the run's last good state
  std::string message;           // one line for the user (why it stopped)
};

// Warmup when not given: 200 steps, at most a tenth of the run.
int64_t default_warmup_steps(int64_t total_steps);

TrainResult train(const TrainOptions& opt);

// Asks a running train() to finish its current step, checkpoint and return `interrupted`.
// Async-signal-safe (a flag). StopOnSignals installs it for SIGINT and SIGTERM; a second signal
// kills the process the usual way.
void request_stop();
void clear_stop_request();
struct StopOnSignals {
  StopOnSignals();
  ~StopOnSignals();
};

}  // namespace ogpt::model
