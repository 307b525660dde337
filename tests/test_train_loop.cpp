// The training loop on the 2x64 preset: deterministic, resumable bit for bit, stops cleanly on a
// stop request and on a non-finite loss, and actually learns.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "data/game_file.hpp"
#include "data/generate.hpp"
#include "data/labels.hpp"
#include "model/checkpoint.hpp"
#include "model/evaluate.hpp"
#include "model/train_log.hpp"
#include "model/trainer.hpp"
#include "othello/board.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "tests/temp_dir.hpp"

using namespace ogpt;
using namespace ogpt::model;
namespace fs = std::filesystem;

using ogpt::test::TempDir;

namespace {
TrainOptions tiny_run(const std::string& dir, uint64_t games = 48) {
  TrainOptions o;
  o.run.preset = "2x64";
  o.run.cfg = preset("2x64");
  o.run.batch = 8;
  o.run.total_games = games;
  o.run.seed = 7;
  o.run.val_seed = 7;
  o.run.val_games = 16;
  o.run.bf16 = false;
  o.run.schedule.lr = 1e-3;
  o.run.schedule.warmup_steps = 2;
  o.out_dir = dir;
  o.val_every = 4;
  o.log_every = 1;
  o.progress = false;
  o.threads = 1;  // 2x64 is too small to gain from threads; and 1 thread stays fast on a busy machine
  return o;
}

struct Saved {
  std::vector<float> weights;
  TrainState state;
};
Saved load(const std::string& dir) {
  auto c = load_checkpoint(dir + "/latest.ckpt");
  return {c.params.data, decode_train_state(c.extra, dir)};
}
}  // namespace

TEST_CASE("train loop: deterministic, and resuming gives the same bits as an unbroken run") {
  TempDir tmp("train_resume");
  // A: 6 steps straight.  B: the same run again.  C: 3 steps, stop, resume for the rest.
  // D: interrupted (a stop request, as Ctrl-C) after step 2, then resumed.
  auto a = train(tiny_run(tmp.str("a")));
  CHECK(a.status == TrainStatus::done);
  CHECK(a.step == 6);
  CHECK(a.games_seen == 48);
  auto b = train(tiny_run(tmp.str("b")));
  CHECK(b.step == 6);
  auto c_opt = tiny_run(tmp.str("c"));
  c_opt.stop_after_steps = 3;
  auto c1 = train(c_opt);
  CHECK(c1.status == TrainStatus::stopped);
  CHECK(c1.step == 3);
  CHECK(load(tmp.str("c")).state.step == 3);
  c_opt.stop_after_steps = 0;
  c_opt.resume = true;
  auto c2 = train(c_opt);
  CHECK(c2.status == TrainStatus::done);
  CHECK(c2.step == 6);
  auto d_opt = tiny_run(tmp.str("d"));
  d_opt.on_step = [](const TrainState& s) {
    if (s.step == 2) request_stop();
  };
  auto d1 = train(d_opt);
  clear_stop_request();
  CHECK(d1.status == TrainStatus::interrupted);
  CHECK(d1.step == 2);
  d_opt.on_step = nullptr;
  d_opt.resume = true;
  CHECK(train(d_opt).step == 6);

  Saved A = load(tmp.str("a")), B = load(tmp.str("b")), C = load(tmp.str("c")), D = load(tmp.str("d"));
  Saved init = {load_checkpoint(tmp.str("a") + "/previous.ckpt").params.data, {}};
  CHECK(A.weights != init.weights);  // training moved the weights
  CHECK(A.weights == B.weights);
  CHECK(A.weights == C.weights);
  CHECK(A.weights == D.weights);
  CHECK(A.state.opt.m == C.state.opt.m);
  CHECK(A.state.opt.v == D.state.opt.v);
  CHECK(C.state.data_pos == 48);
  CHECK(C.state.games_seen == 48);
  // The resumed log has each step once.
  auto rows = parse_log_csv(util::read_file(tmp.str("c") + "/log.csv"), "log.csv");
  std::vector<int64_t> steps;
  for (auto& r : rows) steps.push_back(r.step);
  CHECK(steps == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6});
  // A different seed gives different weights.
  auto e_opt = tiny_run(tmp.str("e"));
  e_opt.run.seed = 8;
  train(e_opt);
  CHECK(load(tmp.str("e")).weights != A.weights);
}

TEST_CASE("train loop: snapshots keep the weights each time the games pass a multiple, as a run stopped there has them") {
  TempDir tmp("train_snapshots");
  // 6 steps of 8 games; every 20 games: passed at 24 (step 3) and 40 (step 5), not at 48.
  auto a_opt = tiny_run(tmp.str("a"));
  a_opt.snapshot_every_games = 20;
  REQUIRE(train(a_opt).step == 6);
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(tmp.str("a") + "/snapshots")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"games-0000000024.ckpt", "games-0000000040.ckpt"});
  auto snap24 = load_checkpoint(tmp.str("a") + "/snapshots/games-0000000024.ckpt");
  CHECK(snap24.dtype == WeightDtype::f32);
  CHECK(snap24.extra.empty());  // the weights alone, no optimizer state
  // the same run stopped after step 3 has the snapshot's weights; the end has other ones
  auto b_opt = tiny_run(tmp.str("b"));
  b_opt.stop_after_steps = 3;
  train(b_opt);
  CHECK(load(tmp.str("b")).weights == snap24.params.data);
  CHECK(load(tmp.str("a")).weights != snap24.params.data);
  // a run stopped at step 4 and resumed writes the same snapshots, bit for bit
  auto c_opt = tiny_run(tmp.str("c"));
  c_opt.snapshot_every_games = 20;
  c_opt.stop_after_steps = 4;
  train(c_opt);
  CHECK(!fs::exists(tmp.str("c") + "/snapshots/games-0000000040.ckpt"));
  c_opt.stop_after_steps = 0;
  c_opt.resume = true;
  train(c_opt);
  for (const auto& n : names)
    CHECK(load_checkpoint(tmp.str("c") + "/snapshots/" + n).params.data ==
          load_checkpoint(tmp.str("a") + "/snapshots/" + n).params.data);
  CHECK(!fs::exists(tmp.str("b") + "/snapshots"));  // none unless asked
}

TEST_CASE("train loop: a Muon run resumes bit for bit, differs from AdamW, and refuses a switch on resume") {
  TempDir tmp("train_muon");
  auto muon_run = [&](const std::string& name) {
    auto o = tiny_run(tmp.str(name));
    o.run.optimizer = Optimizer::muon;
    return o;
  };
  CHECK(train(muon_run("a")).step == 6);
  auto c_opt = muon_run("c");
  c_opt.stop_after_steps = 3;
  CHECK(train(c_opt).status == TrainStatus::stopped);
  c_opt.stop_after_steps = 0;
  c_opt.resume = true;
  CHECK(train(c_opt).step == 6);
  Saved A = load(tmp.str("a")), C = load(tmp.str("c"));
  CHECK(A.state.run.optimizer == Optimizer::muon);  // stored in the checkpoint (state version 3)
  CHECK(A.weights == C.weights);
  CHECK(A.state.opt.m == C.state.opt.m);
  train(tiny_run(tmp.str("adamw")));
  CHECK(load(tmp.str("adamw")).weights != A.weights);
  // resuming the Muon run as an AdamW one is a different run
  auto d_opt = tiny_run(tmp.str("c"));
  d_opt.resume = true;
  d_opt.run.total_games = 64;
  d_opt.given = {"optimizer", "games"};
  CHECK_THROWS_WITH_AS(train(d_opt), doctest::Contains("--optimizer adamw (the run has muon)"), UserError);
}

TEST_CASE("train loop: a trunk held at the peak and a decay branched off it give the bits of one warmup-stable-decay run") {
  TempDir tmp("train_wsd");
  // One run: 12 steps, the last 4 (32 games) anneal.
  auto a_opt = tiny_run(tmp.str("a"), 96);
  a_opt.run.decay_games = 32;
  CHECK(train(a_opt).step == 12);
  // A trunk of 8 steps at the peak, then resumed with 4 more steps that all anneal.
  auto b_opt = tiny_run(tmp.str("b"), 64);
  b_opt.run.decay_games = 0;
  CHECK(train(b_opt).step == 8);
  b_opt.resume = true;
  b_opt.run.total_games = 96;
  b_opt.run.decay_games = 32;
  b_opt.given = {"games", "decay-games"};
  CHECK(train(b_opt).step == 12);
  Saved A = load(tmp.str("a")), B = load(tmp.str("b"));
  CHECK(A.weights == B.weights);
  CHECK(B.state.run.decay_games == 32);  // stored in the checkpoint (state version 4)
  // The logged lr (row k: the lr of step k-1): warmup, the peak held through step 8 (the first
  // decay step), the cosine over steps 8..11 to the floor.
  auto rows = parse_log_csv(util::read_file(tmp.str("a") + "/log.csv"), "log.csv");
  REQUIRE(rows.size() == 13);
  for (int k = 3; k <= 9; ++k) CHECK(rows[k].lr == doctest::Approx(1e-3));
  CHECK(rows[10].lr < rows[9].lr);
  CHECK(rows[12].lr == doctest::Approx(1e-4));
  // A cosine run of the same length anneals from step 2 on: different weights.
  train(tiny_run(tmp.str("cosine"), 96));
  CHECK(load(tmp.str("cosine")).weights != A.weights);
}

TEST_CASE("train loop: a game file gives the same run as the stream it holds, wrap-around resumes exactly") {
  TempDir tmp("train_file");
  fs::create_directories(tmp.path);
  std::vector<data::Game> games(48);
  data::generate_games(7, 0, games.size(), games.data());  // the stream tiny_run trains on (seed 7)
  data::write_games(tmp.str("48.games"), games);
  std::vector<data::Game> head(games.begin(), games.begin() + 20);
  data::write_games(tmp.str("20.games"), head);

  auto fresh = tiny_run(tmp.str("fresh"));
  train(fresh);
  auto file = tiny_run(tmp.str("file"));
  file.run.games_file = tmp.str("48.games");
  train(file);
  CHECK(load(tmp.str("file")).weights == load(tmp.str("fresh")).weights);

  // 20 games, 6 steps of 8: the stream wraps twice (epochs 0, 1, 2). Straight vs stop + resume.
  auto wrap = tiny_run(tmp.str("wrap"));
  wrap.run.games_file = tmp.str("20.games");
  train(wrap);
  Saved W = load(tmp.str("wrap"));
  CHECK(W.state.epoch == 2);
  CHECK(W.state.data_pos == 48 - 40);
  CHECK(W.weights != load(tmp.str("fresh")).weights);
  auto split = wrap;
  split.out_dir = tmp.str("split");
  split.stop_after_steps = 3;  // stops at position 4 of epoch 1
  train(split);
  CHECK(load(tmp.str("split")).state.epoch == 1);
  CHECK(load(tmp.str("split")).state.data_pos == 4);
  split.stop_after_steps = 0;
  split.resume = true;
  train(split);
  CHECK(load(tmp.str("split")).weights == W.weights);
  // The file changed under the run: refused.
  data::write_games(tmp.str("20.games"), std::vector<data::Game>(games.begin(), games.begin() + 21));
  split.run.total_games = 64;
  split.given = {"games"};
  CHECK_THROWS_WITH_AS(train(split), doctest::Contains("now holds 21 games"), UserError);
}

TEST_CASE("train loop: an existing run is refused without --resume, a resume may change --games but not undo steps") {
  TempDir tmp("train_refuse");
  auto o = tiny_run(tmp.str(), 16);
  train(o);
  CHECK_THROWS_WITH_AS(train(o), doctest::Contains("--resume"), UserError);
  o.resume = true;
  o.run.batch = 4;
  o.given = {"batch"};
  CHECK_THROWS_WITH_AS(train(o), doctest::Contains("--batch 4 (the run has 8)"), UserError);
  o.run.batch = 8;
  o.run.total_games = 64;
  o.given = {"games"};
  o.stop_after_steps = 1;
  auto r = train(o);
  CHECK(r.status == TrainStatus::stopped);
  CHECK(r.step == 3);
  o.stop_after_steps = 0;
  o.run.total_games = 32;  // finish sooner than planned
  r = train(o);
  CHECK(r.status == TrainStatus::done);
  CHECK(r.step == 4);
  CHECK(load(tmp.str()).state.run.schedule.total_steps == 4);
  o.run.total_games = 16;  // fewer than already seen
  CHECK_THROWS_WITH_AS(train(o), doctest::Contains("already trained on 32 games"), UserError);
}

TEST_CASE("train loop: a non-finite loss stops the run and keeps the last good checkpoint") {
  TempDir tmp("train_nonfinite");
  auto o = tiny_run(tmp.str(), 400);
  o.run.schedule.lr = 1e30;  // absurd: the weights blow up within a few steps
  o.run.schedule.warmup_steps = 0;
  o.run.hyper.weight_decay = 0;
  o.ckpt_every_minutes = 0;  // a checkpoint after every good step
  auto r = train(o);
  CHECK(r.status == TrainStatus::non_finite);
  CHECK(r.message.find("non-finite") != std::string::npos);
  CHECK(r.step < 50);
  Saved s = load(tmp.str());
  CHECK(s.state.step <= r.step);
  for (float w : s.weights) REQUIRE(std::isfinite(w));
}

TEST_CASE("train e2e: 2x64 on fresh random games lowers the validation loss, with either target") {
  // 100 steps of 16 games (a few seconds each). Measured with these settings: validation loss
  // 4.12 -> 3.78 nats/move, legal top-1 14% -> 39% (next-move target); 4.12 -> 3.76, 42% (legal
  // target). The test asks for a 0.2 nat drop and +10 points. The legal target's loss is the
  // cross-entropy to the uniform legal distribution, whose floor is the same entropy.
  for (bool legal : {false, true}) {
    CAPTURE(legal);
    TempDir tmp(legal ? "train_e2e_legal" : "train_e2e");
    auto o = tiny_run(tmp.str(), 16 * 100);
    o.run.batch = 16;
    o.run.val_games = 64;
    o.run.schedule.lr = 3e-3;
    o.run.schedule.warmup_steps = 10;
    o.run.legal_target = legal;
    o.val_every = 0;
    o.log_every = 50;
    auto r = train(o);
    REQUIRE(r.status == TrainStatus::done);
    auto rows = parse_log_csv(util::read_file(tmp.str() + "/log.csv"), "log.csv");
    REQUIRE(rows.front().step == 0);
    double before = rows.front().val_loss, after = r.val.loss;
    MESSAGE("2x64, target " << (legal ? "legal" : "next-move") << ", 100 steps of 16 games: validation loss "
                            << before << " -> " << after << ", legal top-1 " << rows.front().val_legal_top1
                            << " -> " << r.val.legal_top1);
    CHECK(before > 3.9);  // ~log(61) untrained
    CHECK(after < before - 0.2);
    CHECK(r.val.legal_top1 > rows.front().val_legal_top1 + 0.10);
    CHECK(r.val.excess_loss == doctest::Approx(r.val.loss - r.val.entropy_floor));
    CHECK(r.train_excess > 0);  // the training loss is measured against the same floor
    CHECK(decode_train_state(load_checkpoint(tmp.str() + "/latest.ckpt").extra, "latest.ckpt").run.legal_target ==
          legal);
  }
}

TEST_CASE("train eval: legal top-1, loss, entropy floor and the breakdown of a batch, cross-checked") {
  const int T = 59, V = 61;
  // Two games with a pass in them (the same colour moving twice), found by the labels module's own
  // replay, so that the after-pass slice is not empty.
  std::vector<data::Game> games;
  uint64_t expect_pass_pos = 0;
  for (uint64_t i = 0; games.size() < 2; ++i) {
    REQUIRE(i < 2000);
    data::Game g = data::random_game(3, i);
    std::vector<data::PositionLabels> lab(g.length);
    data::label_game(g, lab.data());
    uint64_t passes = 0;
    for (int t = 0; t + 1 < g.length; ++t) {
      const othello::Color mover = t == 0 ? othello::Color::black : lab[t - 1].to_move;
      passes += lab[t].to_move == mover;
    }
    if (passes == 0) continue;
    expect_pass_pos += passes;
    games.push_back(g);
  }
  std::vector<float> logits(2 * T * V, 0.0f);
  uint64_t expect_hits = 0, expect_pos = 0;
  double expect_floor = 0, expect_loss = 0;
  std::vector<uint64_t> expect_pos_at(T, 0), expect_hits_at(T, 0);
  for (int b = 0; b < 2; ++b) {
    auto legal = legal_after_each_move(games[b]);
    for (int t = 0; t + 1 < games[b].length; ++t) {
      float* l = &logits[(b * T + t) * V];
      l[0] = 100;  // padding: never the argmax, whatever its logit (but in the loss's softmax)
      // Even positions: the argmax is the move actually played next (legal); odd: move t, an
      // occupied square (illegal).
      int sq = (t % 2 == 0) ? games[b].moves[t + 1] : games[b].moves[t];
      l[othello::square_to_token(sq)] = 5;
      if (t % 2 == 0) ++expect_hits, ++expect_hits_at[t];
      REQUIRE((legal[t] >> games[b].moves[t + 1] & 1));
      ++expect_pos, ++expect_pos_at[t];
      // -log softmax of the move played: logits 100 (padding), 5 (the argmax), 0 for the other 59
      const double z = std::exp(100.0) + std::exp(5.0) + 59.0;
      expect_loss += std::log(z) - (t % 2 == 0 ? 5.0 : 0.0);
    }
    expect_floor += data::entropy_floor(games[b]);  // the data module's own implementation
  }
  EvalBreakdown bd;
  score_batch(&bd, logits.data(), games.data(), 2, T, V);
  CHECK(bd.all.hits == expect_hits);
  CHECK(bd.all.positions == expect_pos);
  CHECK(bd.all.floor_sum == doctest::Approx(expect_floor));
  CHECK(bd.all.loss_sum == doctest::Approx(expect_loss));
  REQUIRE(bd.by_moves_seen.size() == size_t(T));
  for (int t = 0; t < T; ++t) {
    CHECK(bd.by_moves_seen[t].positions == expect_pos_at[t]);
    CHECK(bd.by_moves_seen[t].hits == expect_hits_at[t]);
  }
  EvalTally sum;  // the move-number slices are disjoint and add up to the whole
  for (const EvalTally& slice : bd.by_moves_seen) sum.add(slice);
  CHECK(sum.positions == bd.all.positions);
  CHECK(sum.hits == bd.all.hits);
  CHECK(sum.loss_sum == doctest::Approx(bd.all.loss_sum));
  CHECK(sum.floor_sum == doctest::Approx(bd.all.floor_sum));
  CHECK(bd.after_pass.positions == expect_pass_pos);
  CHECK(bd.after_pass.positions > 0);
}

TEST_CASE("train eval: the streaming Evaluator over slices gives what evaluate gives over the whole set") {
  const Config c = preset("2x64");
  GPT gpt(c, 8, Precision::f32);
  init_params(gpt.params, 11);
  gpt.mark_params_changed();
  std::vector<data::Game> games(23);
  data::generate_games(5, 0, games.size(), games.data(), 1);
  const EvalResult whole = evaluate(gpt, games);
  REQUIRE(whole.positions > 23 * 40);
  // Slices on batch boundaries run the same batches: the same bits. Uneven ones (an empty slice,
  // one game, a slice across batches) run other batches: the same counts, the loss to rounding.
  for (const std::vector<size_t>& cuts : {std::vector<size_t>{8, 0, 8, 7}, std::vector<size_t>{5, 0, 1, 17}}) {
    CAPTURE(cuts[0]);
    Evaluator ev(gpt);
    size_t first = 0;
    for (size_t n : cuts) {
      ev.add(games.data() + first, n);
      first += n;
    }
    REQUIRE(first == games.size());
    const EvalResult r = ev.result();
    CHECK(r.games == whole.games);
    CHECK(r.positions == whole.positions);
    CHECK(r.breakdown.all.positions == whole.breakdown.all.positions);
    CHECK(r.breakdown.after_pass.positions == whole.breakdown.after_pass.positions);
    CHECK(r.entropy_floor == doctest::Approx(whole.entropy_floor).epsilon(1e-12));
    CHECK(r.loss == doctest::Approx(whole.loss).epsilon(1e-6));
    if (cuts[0] == 8) {
      CHECK(r.breakdown.all.hits == whole.breakdown.all.hits);
      CHECK(r.loss == whole.loss);
    }
  }
}
