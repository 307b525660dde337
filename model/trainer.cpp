#include "model/trainer.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "data/game_file.hpp"
#include "model/checkpoint.hpp"
#include "model/dnnl_plan.hpp"
#include "model/gpt.hpp"
#include "model/model_path.hpp"
#include "model/train_log.hpp"
#include "model/widen.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace ogpt::model {

namespace fs = std::filesystem;

// ---- stop requests ------------------------------------------------------------------------------
namespace {
volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int sig) {
  g_stop = 1;
  std::signal(sig, SIG_DFL);  // a second Ctrl-C kills at once
}
}  // namespace

void request_stop() { g_stop = 1; }
void clear_stop_request() { g_stop = 0; }
StopOnSignals::StopOnSignals() {
  g_stop = 0;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}
StopOnSignals::~StopOnSignals() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

int64_t default_warmup_steps(int64_t total_steps) { return std::min<int64_t>(200, total_steps / 10); }

namespace {

using clk = std::chrono::steady_clock;
double seconds_since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }

// ---- the training data stream ---------------------------------------------------------------------
// Synthetic: game i is random_game(seed, i); the position is the next index. File: games in file
// order; at the end the file is reopened and the epoch counter incremented.
class GameStream {
 public:
  GameStream(const RunConfig& run, uint64_t pos, uint64_t epoch) : run_(run), pos_(pos), epoch_(epoch) {
    if (run.games_file.empty()) return;
    open();
    skip(pos);
  }
  void next(int B, data::Game* out) {
    if (run_.games_file.empty()) {
      data::generate_games(run_.seed, pos_, static_cast<size_t>(B), out);
      pos_ += B;
      return;
    }
    int filled = 0;
    while (filled < B) {
      if (!reader_->next_batch(buf_, static_cast<size_t>(B - filled))) {
        ++epoch_;
        pos_ = 0;
        open();
        continue;
      }
      std::copy(buf_.begin(), buf_.end(), out + filled);
      filled += static_cast<int>(buf_.size());
      pos_ += buf_.size();
    }
  }
  uint64_t pos() const { return pos_; }
  uint64_t epoch() const { return epoch_; }

 private:
  void open() {
    reader_ = std::make_unique<data::GameReader>(run_.games_file);
    if (reader_->count() == 0) throw UserError(run_.games_file + ": holds no games to train on");
  }
  void skip(uint64_t n) {
    while (n > 0) {
      if (!reader_->next_batch(buf_, static_cast<size_t>(std::min<uint64_t>(n, 1u << 16))))
        throw UserError(run_.games_file + ": shorter than the run's position in it (" + std::to_string(pos_) + ")");
      n -= buf_.size();
    }
  }
  RunConfig run_;
  uint64_t pos_, epoch_;
  std::unique_ptr<data::GameReader> reader_;
  std::vector<data::Game> buf_;
};

bool is_tty() { return ::isatty(2); }

// A message line on stderr that does not collide with a progress bar being redrawn.
void say(bool on, const std::string& s) {
  if (!on) return;
  std::fprintf(stderr, "%s%s\n", is_tty() ? "\r\033[K" : "", s.c_str());
  std::fflush(stderr);
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// "warmup 200 steps, cosine to 10%", or for warmup-stable-decay "warmup 200 steps, the peak held
// to step 9000, cosine to 10% over the last 1000 steps (256000 games)".
std::string describe_schedule(const RunConfig& run) {
  const Schedule& s = run.schedule;
  std::string out = "warmup " + std::to_string(s.warmup_steps) + " steps, ";
  if (s.decay_steps == 0) return out + "the peak held to the end (a trunk: --decay-games on resume anneals it)";
  if (s.decay_steps > 0) out += "the peak held to step " + std::to_string(decay_start(s)) + ", ";
  out += "cosine to " + fmt("%g", s.floor_frac * 100) + "%";
  if (s.decay_steps > 0)
    out += " over the last " + std::to_string(s.decay_steps) + " steps (" + std::to_string(run.decay_games) + " games)";
  return out;
}

// Keeps the checkpoint being replaced as previous.ckpt (a hard link, so no copy and no moment
// without a latest.ckpt), then writes the new one atomically.
void save_run_checkpoint(const std::string& dir, const GPT& gpt, const TrainState& s) {
  fs::path latest = fs::path(dir) / "latest.ckpt", prev = fs::path(dir) / "previous.ckpt";
  fs::path tmp = fs::path(dir) / "previous.ckpt.tmp";
  std::error_code ec;
  if (fs::exists(latest, ec)) {
    fs::remove(tmp, ec);
    fs::create_hard_link(latest, tmp, ec);
    if (!ec) fs::rename(tmp, prev, ec);
  }
  save_checkpoint(latest.string(), gpt.params, WeightDtype::f32, encode_train_state(s));
}

// The weights alone (f32, no optimizer state) as DIR/snapshots/games-NNNNNNNNNN.ckpt, named by
// games seen so that a glob lists them in order: points along the run to average later
// (model/average.hpp). A resumed session that redoes a step rewrites the same bits.
void save_snapshot(const std::string& dir, uint64_t games_seen, const GPT& gpt) {
  fs::path snaps = fs::path(dir) / "snapshots";
  fs::create_directories(snaps);
  char name[48];
  std::snprintf(name, sizeof name, "games-%010llu.ckpt", static_cast<unsigned long long>(games_seen));
  save_checkpoint((snaps / name).string(), gpt.params, WeightDtype::f32);
}

struct Loaded {
  TrainState state;
  ParamBlock params;
  std::string path;
};

// A state of the wrong size would otherwise be reset to zeros in silence by AdamW (its lazy
// start) while the trainer's step count goes on, and Muon would index past it: a different
// run, not a resume.
Loaded load_one(const std::string& path) {
  auto c = load_checkpoint(path);
  Loaded l{decode_train_state(c.extra, path), std::move(c.params), path};
  const size_t n = l.params.data.size();
  if (l.state.opt.m.size() != n || l.state.opt.v.size() != n)
    throw UserError(path + ": optimizer state holds " + std::to_string(l.state.opt.m.size()) + " / " +
                    std::to_string(l.state.opt.v.size()) + " moments for " + std::to_string(n) + " parameters");
  return l;
}

Loaded load_run_checkpoint(const std::string& dir, bool say_on) {
  std::string latest = (fs::path(dir) / "latest.ckpt").string();
  std::string prev = (fs::path(dir) / "previous.ckpt").string();
  try {
    return load_one(latest);
  } catch (const UserError& e) {
    // latest.ckpt is written atomically, so this means outside damage; the previous one may do.
    if (!fs::exists(prev)) throw;
    say(say_on, std::string("warning: ") + e.what() + "; resuming from " + prev);
    return load_one(prev);
  }
}

bool finite_all(const std::vector<float>& v) {
  int bad = 0;
#pragma omp parallel for reduction(| : bad) schedule(static)
  for (size_t i = 0; i < v.size(); ++i) bad |= !std::isfinite(v[i]);
  return !bad;
}

}  // namespace

TrainResult train(const TrainOptions& opt) {
  const bool talk = opt.progress;
  struct RestoreThreads {  // --threads applies to this run only
    int n = omp_get_max_threads();
    ~RestoreThreads() { omp_set_num_threads(n); }
  } restore_threads;
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  std::error_code ec;
  // A run refused before it writes anything (a --batch too large, a wrong --init-from) leaves no
  // empty --out behind if it made that directory: fs::remove only removes an empty one.
  struct RemoveIfUnused {
    std::string dir;
    ~RemoveIfUnused() {
      std::error_code e;
      if (!dir.empty()) fs::remove(dir, e);
    }
  } remove_if_unused{fs::exists(opt.out_dir, ec) ? std::string() : opt.out_dir};
  fs::create_directories(opt.out_dir, ec);
  if (ec) throw IoError("cannot create --out " + opt.out_dir + ": " + ec.message());
  const std::string latest = (fs::path(opt.out_dir) / "latest.ckpt").string();

  // ---- a new run, or the state of the one being resumed ----
  TrainState st;
  ParamBlock init;
  bool fresh = true;
  if (fs::exists(latest) || fs::exists(fs::path(opt.out_dir) / "previous.ckpt")) {
    if (!opt.resume)
      throw UserError(opt.out_dir + " already holds a training run (" + latest +
                          "); pass --resume to continue it, or choose another --out",
                      kUsage);
    Loaded l = load_run_checkpoint(opt.out_dir, talk);
    st = std::move(l.state);
    init = std::move(l.params);
    const uint64_t planned = st.run.total_games;
    const int64_t planned_decay = st.run.decay_games;
    st.run = merge_resume(st.run, opt.run, opt.given, opt.out_dir);
    if (st.run.total_steps() < st.step)
      throw UserError("cannot resume " + opt.out_dir + " with --games " + std::to_string(st.run.total_games) +
                          ": the run has already trained on " + std::to_string(st.games_seen) + " games",
                      kUsage);
    if (st.run.total_games != planned)
      say(talk, "--games " + std::to_string(st.run.total_games) + " (the run planned " + std::to_string(planned) +
                    "): the schedule is re-planned from step " + std::to_string(st.step));
    if (st.run.decay_games != planned_decay)
      say(talk, "--decay-games " + std::to_string(st.run.decay_games) + " (the run had " +
                    (planned_decay < 0 ? std::string("a cosine over all of it") : std::to_string(planned_decay)) +
                    "): " + describe_schedule(st.run));
    // A re-planned warmup-stable-decay run whose decay now starts before this step would jump
    // down the cosine at once: say so, and which --games starts the decay here.
    const int64_t from = decay_start(st.run.schedule);
    if ((st.run.total_games != planned || st.run.decay_games != planned_decay) && st.run.decay_games > 0 &&
        from < st.step)
      say(talk, "note: the decay was to start at step " + std::to_string(from) + ", before this step " +
                    std::to_string(st.step) + ": the lr drops to " + fmt("%.3g", lr_at(st.run.schedule, st.step)) +
                    " at once (--games " + std::to_string(st.step * st.run.batch + st.run.decay_games) +
                    " starts it here)");
    if (init.cfg != st.run.cfg) throw UserError(l.path + ": weights do not match the run's preset");
    fresh = false;
    if (!st.run.games_file.empty()) {
      uint64_t n = data::read_game_file_info(st.run.games_file).count;
      if (n != st.run.games_file_count)
        throw UserError("cannot resume " + opt.out_dir + ": " + st.run.games_file + " now holds " +
                            std::to_string(n) + " games, the run was started on " +
                            std::to_string(st.run.games_file_count),
                        kUsage);
    }
    int threads_now = omp_get_max_threads();
    if (st.threads && st.threads != threads_now)
      say(talk, "note: the run used " + std::to_string(st.threads) + " threads, this session " +
                    std::to_string(threads_now) + ": the result may differ in the last bits from an unbroken run");
    say(talk, "resuming " + opt.out_dir + " at step " + std::to_string(st.step) + " (" +
                  std::to_string(st.games_seen) + " games seen)");
  } else {
    if (opt.resume) say(talk, "nothing to resume in " + opt.out_dir + ": starting a new run");
    st.run = opt.run;
    if (st.run.batch < 1) throw UserError("--batch must be at least 1", kUsage);
    if (st.run.total_games == 0) throw UserError("--games must be at least 1", kUsage);
    if (!st.run.games_file.empty()) st.run.games_file_count = data::read_game_file_info(st.run.games_file).count;
    st.run.plan_schedule();
    if (st.run.schedule.warmup_steps < 0) st.run.schedule.warmup_steps = default_warmup_steps(st.run.total_steps());
    if (opt.init_from.empty()) {
      init = ParamBlock(st.run.cfg);
      init_params(init, st.run.seed);
    } else {
      std::string file;
      init = load_model(opt.init_from, "", &file).params;
      if (init.cfg != st.run.cfg) {
        std::string hint;  // a narrower model can be grown into this preset first
        if (widening_problem(init.cfg, st.run.cfg).empty())
          hint = " (`othello-gpt widen --model " + file + " --preset " + st.run.preset +
                 " --out W` makes weights of that shape computing the same function; then --init-from W)";
        throw UserError("--init-from " + file + ": its weights are " + init.cfg.describe() + ", not --preset " +
                            st.run.preset + hint,
                        kUsage);
      }
      say(talk, "new run from the weights of " + file + " (fresh optimizer state)");
    }
    st.opt.reset(init.data.size());
  }
  if (!opt.init_from.empty() && !fresh)
    throw UserError("--init-from starts a new run; " + opt.out_dir + " is resumed from its own checkpoint", kUsage);
  // bf16 needs AVX512-BF16 or AMX; elsewhere train in f32 (a resumed bf16 run goes on in f32:
  // close to, not bit-identical with, an unbroken run on a bf16 machine).
  if (st.run.bf16 && !bf16_matmul_supported()) {
    if (fresh && opt.given.count("precision"))
      throw UserError("--bf16: this CPU has no bf16 matmul in oneDNN (it needs AVX512-BF16 or AMX); use --f32", kUsage);
    if (!fresh)
      say(talk, "note: the run trained in bf16, which this CPU lacks (no AVX512-BF16/AMX): it goes on in f32");
    st.run.bf16 = false;
  }
  st.threads = omp_get_max_threads();
  const RunConfig& run = st.run;
  const int B = run.batch, T = run.cfg.n_ctx;

  // A batch too large for this machine would be killed by the kernel once its buffers are touched
  // (Linux overcommits): refuse it now, with what it needs.
  const int64_t need = GPT::training_bytes(run.cfg, B, run.bf16 ? Precision::bf16 : Precision::f32);
  const double have = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (have > 0 && static_cast<double>(need) > 0.8 * have) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "--batch %d: a training step of %s needs %.1f GiB of activations, this machine has %.1f GiB of "
                  "memory; lower --batch",
                  B, run.preset.c_str(), static_cast<double>(need) / (1ull << 30), have / (1ull << 30));
    throw UserError(msg, kUsage);
  }
  GPT gpt(run.cfg, B, run.bf16 ? Precision::bf16 : Precision::f32);
  gpt.params = init;
  gpt.mark_params_changed();
  init = ParamBlock();

  std::vector<data::Game> val_games(static_cast<size_t>(run.val_games));
  data::generate_games(run.val_seed, kHeldOutFirst, val_games.size(), val_games.data());
  GameStream stream(run, st.data_pos, st.epoch);
  TrainLog log(opt.out_dir, fresh ? -1 : st.step);

  say(talk, "train " + run.cfg.describe() + ", " + (run.bf16 ? "bf16" : "f32") + ", " +
                std::to_string(param_count(run.cfg)) + " parameters; batch " + std::to_string(B) + ", " +
                std::to_string(run.total_games) + " games (" + std::to_string(run.total_steps()) +
                " steps) of " + (run.games_file.empty() ? "fresh random games" : run.games_file) +
                (run.legal_target ? ", legal-move targets" : "") + "; " + optimizer_name(run.optimizer) +
                " lr " + fmt("%g", run.schedule.lr) + ", " + describe_schedule(run) + "; " +
                std::to_string(st.threads) + " threads");

  TrainResult res;
  res.checkpoint = latest;
  const auto session_start = clk::now();
  const double wall_before = st.wall_s;
  const uint64_t games_before = st.games_seen;
  auto wall_now = [&] { return wall_before + seconds_since(session_start); };
  auto last_ckpt = clk::now();
  // Saves the state unless an update made a weight non-finite (a finite loss and gradient can
  // still overflow under an absurd lr): then the last good checkpoint stays and the run stops.
  auto checkpoint = [&]() -> bool {
    if (!finite_all(gpt.params.data)) {
      res.status = TrainStatus::non_finite;
      res.message = "step " + std::to_string(st.step) + ": non-finite weights after the update (lr " +
                    fmt("%g", lr_at(run.schedule, st.step - 1)) + "); stopped without saving. The last good checkpoint is " +
                    latest + " — lower --lr, or check --clip, and start again";
      return false;
    }
    st.data_pos = stream.pos();
    st.epoch = stream.epoch();
    st.wall_s = wall_now();
    save_run_checkpoint(opt.out_dir, gpt, st);
    last_ckpt = clk::now();
    return true;
  };
  const std::string title = run.preset + (run.bf16 ? " bf16" : " f32") + ", batch " + std::to_string(B);
  auto validate = [&](LogRow& row) {
    res.val = evaluate(gpt, val_games);
    row.val_loss = res.val.loss;
    row.val_excess = res.val.excess_loss;
    row.val_legal_top1 = res.val.legal_top1;
    say(talk, "validation at step " + std::to_string(st.step) + " (" + std::to_string(st.games_seen) +
                  " games): legal top-1 " + fmt("%.3f%%", 100 * res.val.legal_top1) + ", loss " +
                  fmt("%.4f", res.val.loss) + ", excess " + fmt("%.4f", res.val.excess_loss) + " over " +
                  std::to_string(res.val.positions) + " positions");
  };

  if (fresh) {
    LogRow row;
    row.wall_s = 0;
    row.lr = lr_at(run.schedule, 0);
    validate(row);
    log.append(row);
    log.write_curve_svg(title);
    checkpoint();
  }

  // every step takes a whole batch, so the run ends at total_steps() * B games (>= --games)
  const int64_t steps_left = std::max<int64_t>(0, run.total_steps() - st.step);
  util::Progress bar("train", static_cast<uint64_t>(steps_left) * B, "games", talk);
  std::vector<data::Game> games(static_cast<size_t>(B));
  std::vector<uint8_t> tokens(static_cast<size_t>(B) * T), targets(tokens.size());
  std::vector<uint64_t> sets(run.legal_target ? tokens.size() : 0);
  double acc_loss = 0, acc_excess = 0;
  int64_t acc_n = 0, session_steps = 0;
  double last_norm = NAN;
  std::unique_ptr<MuonOptimizer> muon;  // planned once (its Newton-Schulz matmuls) for the run
  if (run.optimizer == Optimizer::muon) muon = std::make_unique<MuonOptimizer>(run.cfg);
  res.status = TrainStatus::done;

  while (st.games_seen < run.total_games) {
    if (g_stop) {
      res.status = TrainStatus::interrupted;
      break;
    }
    if ((opt.stop_after_steps > 0 && session_steps >= opt.stop_after_steps) ||
        (opt.stop_after_minutes > 0 && seconds_since(session_start) >= 60 * opt.stop_after_minutes)) {
      res.status = TrainStatus::stopped;
      break;
    }
    // ---- one step ----
    stream.next(B, games.data());
    double floor_sum = 0;
    uint64_t n_pos = 0;
    for (int b = 0; b < B; ++b) {
      data::game_to_tokens(games[b], &tokens[static_cast<size_t>(b) * T], &targets[static_cast<size_t>(b) * T]);
      floor_sum += run.legal_target ? data::game_to_legal_sets(games[b], &sets[static_cast<size_t>(b) * T])
                                    : data::entropy_floor(games[b]);
      n_pos += static_cast<uint64_t>(data::n_targets(games[b]));
    }
    const double lr = lr_at(run.schedule, st.step);
    gpt.zero_grad();
    float loss = gpt.forward(tokens.data(), targets.data(), B, nullptr, sets.empty() ? nullptr : sets.data());
    double norm = NAN;
    if (std::isfinite(loss)) {
      gpt.backward();
      norm = grad_norm(gpt.grads.data.data(), gpt.grads.data.size());
    }
    if (!std::isfinite(loss) || !std::isfinite(norm)) {
      res.status = TrainStatus::non_finite;
      res.message = "step " + std::to_string(st.step + 1) + ": non-finite " +
                    (std::isfinite(loss) ? "gradient norm" : "loss") + " (lr " + fmt("%g", lr) +
                    "); stopped without saving. The last good checkpoint is " + latest +
                    " — lower --lr, or check --clip, and start again";
      break;
    }
    if (muon)
      muon->step(gpt.params, gpt.grads, st.opt, run.hyper, lr, clip_scale(norm, run.hyper.clip));
    else
      adamw_step(gpt.params, gpt.grads, st.opt, run.hyper, lr, clip_scale(norm, run.hyper.clip));
    gpt.mark_params_changed();
    st.step += 1;
    st.games_seen += B;
    ++session_steps;
    if (const uint64_t every = opt.snapshot_every_games; every > 0 && st.games_seen / every != (st.games_seen - B) / every)
      save_snapshot(opt.out_dir, st.games_seen, gpt);
    st.data_pos = stream.pos();
    st.epoch = stream.epoch();
    acc_loss += loss;
    acc_excess += loss - (n_pos ? floor_sum / n_pos : 0.0);
    ++acc_n;
    last_norm = norm;
    if (opt.on_step) opt.on_step(st);

    // ---- log, validate, checkpoint ----
    const bool last = st.games_seen >= run.total_games;
    const bool do_val = last || (opt.val_every > 0 && st.step % opt.val_every == 0);
    if (do_val || st.step % std::max<int64_t>(1, opt.log_every) == 0) {
      LogRow row;
      row.step = st.step;
      row.games = st.games_seen;
      row.wall_s = wall_now();
      row.lr = lr;
      row.train_loss = acc_loss / acc_n;
      row.train_excess = acc_excess / acc_n;
      row.grad_norm = last_norm;
      res.train_loss = row.train_loss;
      res.train_excess = row.train_excess;
      acc_loss = acc_excess = 0;
      acc_n = 0;
      if (do_val) validate(row);
      log.append(row);
      if (do_val) log.write_curve_svg(title);
    }
    if (!last && seconds_since(last_ckpt) >= 60 * opt.ckpt_every_minutes && !checkpoint()) break;
    bar.update(st.games_seen - games_before,
               "step " + std::to_string(st.step) +
                   (games_before ? " (" + std::to_string(st.games_seen) + " games in all)" : "") + "  loss " + fmt("%.4f", loss) + "  excess " +
                   fmt("%.4f", loss - (n_pos ? floor_sum / n_pos : 0.0)) + "  lr " + fmt("%.2e", lr));
  }

  if (res.status != TrainStatus::non_finite) {
    if (acc_n > 0) {  // the steps since the last log row
      LogRow row;
      row.step = st.step;
      row.games = st.games_seen;
      row.wall_s = wall_now();
      row.lr = lr_at(run.schedule, std::max<int64_t>(0, st.step - 1));
      row.train_loss = res.train_loss = acc_loss / acc_n;
      row.train_excess = res.train_excess = acc_excess / acc_n;
      row.grad_norm = last_norm;
      log.append(row);
    }
    if (checkpoint()) log.write_curve_svg(title);
  }
  bar.finish();
  res.step = st.step;
  res.games_seen = st.games_seen;
  res.session_s = seconds_since(session_start);
  res.wall_s = wall_before + res.session_s;
  res.games_per_s = res.session_s > 0 ? (st.games_seen - games_before) / res.session_s : 0;
  switch (res.status) {
    case TrainStatus::done:
      res.message = "done: " + std::to_string(st.games_seen) + " games in " + std::to_string(st.step) +
                    " steps; model in " + latest;
      break;
    case TrainStatus::stopped:
      res.message = "stopped after this session's limit at step " + std::to_string(st.step) + "; saved " +
                    latest + " (continue with --resume)";
      break;
    case TrainStatus::interrupted:
      res.message = "interrupted at step " + std::to_string(st.step) + "; saved " + latest +
                    " (continue with --resume)";
      break;
    case TrainStatus::non_finite:
      break;
  }
  return res;
}

}  // namespace ogpt::model
