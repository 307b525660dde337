// Activation extraction lines columns up with (game, move) and the model's own hook cache;
// targets agree with label_game; the split never cuts a game; binary-feature probes work.
#include <doctest/doctest.h>

#include "data/labels.hpp"
#include "model/gpt.hpp"
#include "probes/activations.hpp"
#include "probes/experiment.hpp"
#include "probes/metrics.hpp"
#include "probes/synthetic.hpp"
#include "util/error.hpp"

using namespace ogpt;

TEST_CASE("extract_activations: column c = game g at move t, equal to a direct forward's cache") {
  model::ParamBlock params(model::preset("2x64"));
  model::init_params(params, 5);
  std::vector<data::Game> games(5);
  data::generate_games(17, 0, games.size(), games.data());
  probes::ExtractOptions ex;
  ex.hooks = {probes::hook_name("resid_post", 2, params.cfg), probes::hook_name("mlp_post", 1, params.cfg)};
  CHECK(ex.hooks[0] == "blocks.1.hook_resid_post");
  CHECK(ex.hooks[1] == "blocks.0.mlp.hook_post");
  CHECK(probes::hook_name("resid_post", 0, params.cfg) == "blocks.0.hook_resid_pre");
  CHECK(probes::hook_layer("blocks.1.hook_resid_post", params.cfg) == 2);
  CHECK(probes::hook_layer("blocks.1.hook_resid_pre", params.cfg) == 1);
  ex.batch = 2;  // several batches, the last one partial
  ex.precision = model::Precision::f32;
  const probes::Activations a = probes::extract_activations(params, games, ex);
  CHECK(a.X[1].n_rows == 256);  // d_mlp
  uint64_t want = 0;
  for (const auto& g : games) want += std::min<int>(g.length, 59);
  REQUIRE(a.positions() == want);

  // Reference: one game at a time through a fresh model.
  model::GPT gpt(params.cfg, 1, model::Precision::f32);
  gpt.params = params;
  gpt.mark_params_changed();
  for (size_t g : {size_t(0), size_t(4)}) {
    uint8_t tok[59], tgt[59];
    data::game_to_tokens(games[g], tok, tgt);
    model::Hooks h;
    h.cache_names = {ex.hooks[0]};
    gpt.forward(tok, nullptr, 1, &h);
    const auto& ten = h.cache[ex.hooks[0]];
    for (uint64_t c = a.game_offset[g]; c < a.game_offset[g + 1]; c += 7) {
      const int t = a.move[c];
      CHECK(t == int(c - a.game_offset[g]));
      double diff = 0;
      for (int i = 0; i < 64; ++i) diff = std::max(diff, double(std::abs(a.X[0](i, c) - ten.data[t * 64 + i])));
      CHECK(diff < 1e-4);
    }
  }

  // Chosen move numbers only.
  ex.moves = {0, 10, 58};
  const probes::Activations b = probes::extract_activations(params, games, ex);
  CHECK(b.positions() == 5 * 3);
  CHECK(arma::approx_equal(b.X[0].col(1), a.X[0].col(10), "absdiff", 1e-5f));
}

TEST_CASE("--positions: slices parse like Python's, the layout keeps exactly those positions") {
  // The model's 59 positions 0..58.
  CHECK(probes::parse_positions("all", 59).empty());
  CHECK(probes::parse_positions("0:59", 59).empty());  // every position is "all"
  CHECK(probes::parse_positions(":", 59).empty());
  const std::vector<int> w = probes::parse_positions("5:54", 59);
  REQUIRE(w.size() == 49);
  CHECK(w.front() == 5);
  CHECK(w.back() == 53);
  CHECK(probes::positions_label(w) == "5:54");
  CHECK(probes::parse_positions("5:-5", 59) == w);  // Nanda et al.'s pos_start 5, pos_end n_ctx - 5
  CHECK(probes::parse_positions(":3", 59) == std::vector<int>{0, 1, 2});
  CHECK(probes::parse_positions("57:", 59) == std::vector<int>{57, 58});
  CHECK(probes::parse_positions("-2:", 59) == std::vector<int>{57, 58});
  CHECK(probes::positions_label({57, 58}) == "57:59");
  CHECK(probes::positions_label({0, 10, 58}) == "0,10,58");
  CHECK(probes::positions_label({}) == "all");
  // A list reads back (a probe file records one when its positions were not a slice).
  CHECK(probes::parse_positions("0,10,58", 59) == std::vector<int>{0, 10, 58});
  CHECK(probes::parse_positions("7", 59) == std::vector<int>{7});
  CHECK(probes::positions_label({7}) == "7:8");
  std::string every;
  for (int t = 0; t < 59; ++t) every += (t ? "," : "") + std::to_string(t);
  CHECK(probes::parse_positions(every, 59).empty());  // every position is "all", as 0:59 is
  const auto why = [](const char* s) {
    try {
      probes::parse_positions(s, 59);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(why("3,3").find("not increasing") != std::string::npos);
  CHECK(why("5,2").find("not increasing") != std::string::npos);
  CHECK(why("1,59").find("'59' is beyond the model's 59 positions") != std::string::npos);
  CHECK(why("1,,2").find("'' is not a position") != std::string::npos);
  for (const char* bad : {"", "59", "5:5", "9:3", "1:2:3", "a:b", "-60:5", "59:", "0:60", " 5:54", "5:54x", "5:-0",
                          "-:3", "1234567:", "3,3", "5,2", "1,,2", ",1", "1,", "1,59", "1,-2", "1,2:3", "-5"})
    CHECK_THROWS_AS(probes::parse_positions(bad, 59), UserError);
  try {
    probes::parse_positions("59:", 59);
    FAIL("59: was not refused");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("0..58") != std::string::npos);  // names the model's range
  }

  // Column layout: game g keeps its positions t in the window with t < min(length, 59).
  std::vector<data::Game> games(30);
  data::generate_games(11, 0, games.size(), games.data());
  games[3].length = 20;  // a short game: the window is cut at its end
  std::vector<uint64_t> off;
  std::vector<uint8_t> move;
  probes::column_layout(games, 59, w, off, move);
  REQUIRE(off.size() == games.size() + 1);
  for (size_t g = 0; g < games.size(); ++g) {
    const int n = std::min<int>(games[g].length, 59);
    const uint64_t want = n > 5 ? std::min(n, 54) - 5 : 0;
    CHECK(off[g + 1] - off[g] == want);
    for (uint64_t c = off[g]; c < off[g + 1]; ++c) CHECK(move[c] == 5 + (c - off[g]));
  }
  CHECK(off[4] - off[3] == 15);
  // A window no game reaches is refused, not laid out as zero columns.
  std::vector<data::Game> short_games(games.begin(), games.begin() + 3);
  for (auto& g : short_games) g.length = 5;
  CHECK_THROWS_AS(probes::column_layout(short_games, 59, w, off, move), UserError);
}

TEST_CASE("sweep over a window: the first board alone is linearly readable from the embeddings") {
  // Position 0 holds one of four first moves, so even a random model's embeddings (layer 0)
  // give the board exactly there; over all positions they read little more than the majority
  // class. A sweep that ignored the window would score the second case like the first.
  model::ParamBlock params(model::preset("2x64"));
  model::init_params(params, 8);
  std::vector<data::Game> games(200);
  data::generate_games(29, 0, games.size(), games.data());
  probes::SweepOptions so;
  so.random_control = false;
  so.extract.precision = model::Precision::f32;
  so.max_epochs_linear = so.max_epochs_mlp = 1;
  so.min_steps = 150;
  so.probe_batch = 256;
  auto layer0_linear_mt = [&](const std::vector<probes::SweepRow>& rows) {
    for (const auto& r : rows)
      if (r.layer == 0 && r.kind == probes::Kind::linear && r.target == probes::Target::mine_theirs) return r.accuracy;
    return -1.0;
  };
  so.extract.moves = probes::parse_positions("0:1", 59);
  const double first = layer0_linear_mt(probes::run_sweep(params, games, so));
  so.extract.moves = probes::parse_positions("all", 59);
  const double all = layer0_linear_mt(probes::run_sweep(params, games, so));
  MESSAGE("layer-0 linear mine/theirs: position 0 ", first, ", all positions ", all);
  CHECK(first > 0.999);
  CHECK(all < 0.9);
}

TEST_CASE("make_targets agrees with label_game, split_by_game keeps games whole") {
  std::vector<data::Game> games(40);
  data::generate_games(3, 0, games.size(), games.data());
  std::vector<uint64_t> off(games.size() + 1, 0);
  std::vector<uint8_t> move;
  for (size_t g = 0; g < games.size(); ++g) {
    const int n = std::min<int>(games[g].length, 59);
    for (int t = 0; t < n; ++t) move.push_back(uint8_t(t));
    off[g + 1] = off[g] + n;
  }
  const auto mt = probes::make_targets(games, off, move, probes::Target::mine_theirs);
  const auto legal = probes::make_targets(games, off, move, probes::Target::legal);
  const auto flipped = probes::make_targets(games, off, move, probes::Target::flipped);
  data::PositionLabels lab[60];
  data::label_game(games[7], lab);
  for (uint64_t c = off[7]; c < off[8]; ++c) {
    const auto& L = lab[move[c]];
    for (int s = 0; s < 64; ++s) {
      CHECK(mt[c * 64 + s] == L.mine_theirs[s]);
      CHECK(legal[c * 64 + s] == ((L.legal >> s) & 1));
      CHECK(flipped[c * 64 + s] == ((L.flipped >> s) & 1));
    }
  }
  const probes::Split sp = probes::split_by_game(off, 0.1, 0.2);
  CHECK(sp.train_games == 28);
  CHECK(sp.val_games == 4);
  CHECK(sp.test_games == 8);
  CHECK(sp.train_end == off[28]);
  CHECK(sp.val_end == off[32]);
  CHECK(sp.test_end == off[40]);
}

TEST_CASE("binary-feature probe (empty) reaches F1 ~1 on synthetic activations") {
  const probes::SyntheticBoards s = probes::make_synthetic_boards(12000, 256, 0.1f, 21);
  std::vector<uint8_t> empty(s.mine_theirs.size());
  for (size_t i = 0; i < empty.size(); ++i) empty[i] = s.mine_theirs[i] == 0;
  probes::Probe p = probes::make_probe(probes::Kind::linear, probes::Target::empty, 256, 0, 2);
  probes::TrainOptions opt;
  opt.batch = 1024;
  opt.max_epochs = 15;
  probes::train_probe(p, s.X.cols(0, 9999), empty.data(), s.X.cols(10000, 10999), empty.data() + 10000 * 64, opt);
  std::vector<uint8_t> pred;
  const arma::fmat Xt = s.X.cols(11000, 11999);
  probes::probe_predict(pred, p, Xt);
  const probes::Metrics m = probes::compute_metrics(pred.data(), empty.data() + 11000 * 64, nullptr, 1000, 2);
  CHECK(m.f1 > 0.99);
  CHECK(m.accuracy > 0.99);
}
