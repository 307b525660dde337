// The intervention runner on a small (untrained) model: probabilities, batching of prefixes of
// different lengths, edits written at the last position of each prefix only (or, with
// --positions since, at the planned earlier ones too), the two ways of writing an edit agreeing,
// and the case metric wired to the engine's ground truth.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>

#include "interventions/intervene.hpp"
#include "interventions/report.hpp"
#include "model/config.hpp"
#include "othello/game_record.hpp"
#include "util/error.hpp"

using namespace ogpt;
using namespace ogpt::interventions;

namespace {

struct Fixture {
  model::Config cfg = model::preset("2x64");
  model::GPT gpt{cfg, 8, model::Precision::f32};
  ProbeSet probes;
  Fixture() {
    model::init_params(gpt.params, 1);
    gpt.mark_params_changed();
    for (int layer = 1; layer <= cfg.n_layers; ++layer) {
      for (auto kind : {probes::Kind::linear, probes::Kind::mlp}) {
        probes::Probe p = probes::make_probe(kind, probes::Target::mine_theirs, cfg.d_model, 32, 10 * layer + int(kind));
        p.layer = layer;
        p.hook = "blocks." + std::to_string(layer - 1) + ".hook_resid_post";
        add_probe(probes, p);
      }
    }
  }
  // The next-move distribution at the last position with `edit` applied by hand at `hook`.
  Prediction manual(const std::vector<int>& moves, const std::string& hook,
                    const std::function<void(float*)>& edit) {
    std::vector<uint8_t> tokens(cfg.n_ctx, 0);
    for (size_t t = 0; t < moves.size(); ++t) tokens[t] = uint8_t(othello::square_to_token(moves[t]));
    model::Hooks h;
    const int last = int(moves.size()) - 1, d = cfg.d_model;
    if (edit) h.edits[hook] = [&](model::TensorView v) { edit(v.data + size_t(last) * d); };
    gpt.forward(tokens.data(), nullptr, 1, &h);
    const float* z = gpt.logits() + size_t(last) * cfg.d_vocab;
    Prediction p;
    double mx = -1e30, sum = 0;
    for (int t = 1; t < cfg.d_vocab; ++t) mx = std::max(mx, double(z[t]));
    for (int t = 1; t < cfg.d_vocab; ++t) sum += std::exp(z[t] - mx);
    for (int t = 1; t < cfg.d_vocab; ++t) p.probs[othello::token_to_square(t)] = float(std::exp(z[t] - mx) / sum);
    return p;
  }
};

const std::vector<std::vector<int>> kPrefixes = {
    othello::parse_game("f5"), othello::parse_game("f5 d6 c3 d3 c4"), othello::parse_game("f5 f6 e6 f4"),
    othello::parse_game("f5 d6 c3 d3 c4 f4 f6 f3 e6 e7 d7")};

}  // namespace

TEST_CASE("intervention runner: unedited predictions are the model's softmax over moves") {
  Fixture f;
  const auto preds = run_model(f.gpt, kPrefixes, f.probes, {}, {}, {});
  REQUIRE(preds.size() == kPrefixes.size());
  for (size_t i = 0; i < kPrefixes.size(); ++i) {
    const Prediction ref = f.manual(kPrefixes[i], "", nullptr);
    double sum = 0;
    for (int sq = 0; sq < 64; ++sq) {
      sum += preds[i].probs[sq];
      CHECK(preds[i].probs[sq] == doctest::Approx(ref.probs[sq]).epsilon(1e-4));
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-4));
    CHECK(preds[i].probs[othello::parse_square("d4")] == 0.0f);
  }
}

TEST_CASE("intervention runner: batched edits equal one-at-a-time edits at the last position") {
  Fixture f;
  std::vector<BoardEdit> edits;
  std::vector<othello::Color> to_move;
  for (auto& m : kPrefixes) {
    const othello::Board b = board_after(m);
    const int cell = othello::parse_square("e4");
    edits.push_back(BoardEdit{{cell}, {get_cell_state(b, cell) == CellState::mine ? CellState::theirs : CellState::mine}});
    to_move.push_back(b.to_move);
  }
  for (Method method : {Method::linear, Method::gradient}) {
    CAPTURE(method_name(method));
    InterventionOptions opt;
    opt.method = method;
    opt.layer = 1;
    opt.all_later = false;
    opt.gradient.max_steps = 50;
    const auto batched = run_model(f.gpt, kPrefixes, f.probes, edits, to_move, opt);
    const auto clean = run_model(f.gpt, kPrefixes, f.probes, {}, {}, opt);
    const probes::Probe& p = probes_for(f.probes, method).at(1);
    double changed = 0;
    for (size_t i = 0; i < kPrefixes.size(); ++i) {
      const int cls = probe_class(p, edits[i].states[0], to_move[i]);
      const Prediction ref = f.manual(kPrefixes[i], "blocks.0.hook_resid_post", [&](float* x) {
        if (method == Method::linear) linear_edit(x, p, edits[i].cells[0], cls, opt.linear);
        else gradient_edit(x, p, edits[i].cells[0], cls, opt.gradient);
      });
      for (int sq = 0; sq < 64; ++sq) {
        CHECK(batched[i].probs[sq] == doctest::Approx(ref.probs[sq]).epsilon(1e-4));
        changed += std::fabs(batched[i].probs[sq] - clean[i].probs[sq]);
      }
    }
    CHECK(changed > 1e-4);  // the edit did something
  }
}

TEST_CASE("intervention runner: an edit added at another hook equals the in-place edit there") {
  // Writing the change computed at the probe's hook (blocks.0.hook_resid_post) into the same hook
  // named by suffix must give the in-place result for a single layer.
  Fixture f;
  std::vector<BoardEdit> edits;
  std::vector<othello::Color> to_move;
  for (auto& m : kPrefixes) {
    edits.push_back(BoardEdit{{othello::parse_square("d5")}, {CellState::empty}});
    to_move.push_back(board_after(m).to_move);
  }
  InterventionOptions a;
  a.layer = 1;
  a.all_later = false;
  InterventionOptions b = a;
  b.hook_suffix = "hook_resid_post";
  const auto pa = run_model(f.gpt, kPrefixes, f.probes, edits, to_move, a);
  const auto pb = run_model(f.gpt, kPrefixes, f.probes, edits, to_move, b);
  for (size_t i = 0; i < kPrefixes.size(); ++i)
    for (int sq = 0; sq < 64; ++sq) CHECK(pa[i].probs[sq] == doctest::Approx(pb[i].probs[sq]).epsilon(1e-4));
  // And an attention-output hook is accepted and changes the prediction.
  InterventionOptions c = a;
  c.hook_suffix = "hook_attn_out";
  const auto pc = run_model(f.gpt, kPrefixes, f.probes, edits, to_move, c);
  const auto clean = run_model(f.gpt, kPrefixes, f.probes, {}, {}, a);
  double diff = 0;
  for (int sq = 0; sq < 64; ++sq) diff += std::fabs(pc[0].probs[sq] - clean[0].probs[sq]);
  CHECK(diff > 1e-5);
  InterventionOptions bad = a;
  bad.layer = 7;
  CHECK_THROWS_AS(run_model(f.gpt, kPrefixes, f.probes, edits, to_move, bad), UserError);
  // The change is d_model wide at one position: hooks of another shape are refused, not written
  // past their end or into the wrong elements.
  for (const char* s : {"attn.hook_pattern", "attn.hook_z", "ln1.hook_scale", "mlp.hook_post", "mlp.hook_pre"}) {
    CAPTURE(s);
    InterventionOptions h = a;
    h.hook_suffix = s;
    CHECK_THROWS_AS(run_model(f.gpt, kPrefixes, f.probes, edits, to_move, h), UserError);
  }
  // A probe at hook_attn_out reports a layer too, but does not take the residual probe's place.
  ProbeSet set = f.probes;
  probes::Probe side = set.linear.at(1);
  side.hook = "blocks.0.hook_attn_out";
  add_probe(set, side);
  CHECK(set.linear.at(1).hook == "blocks.0.hook_resid_post");
  ProbeSet only_side;
  add_probe(only_side, side);
  CHECK(only_side.empty());
}

TEST_CASE("intervention cases: errors and null errors follow the engine's legal sets") {
  Fixture f;
  std::vector<EditCase> cases = {
      {othello::parse_game("f5"), othello::parse_square("e4"), CellState::mine},
      {othello::parse_game("f5 d6"), othello::parse_square("f5"), CellState::empty},
      {othello::parse_game("f5 d6 c3 d3 c4"), othello::parse_square("d5"), CellState::theirs}};
  InterventionOptions opt;
  opt.layer = 1;
  const auto res = run_cases(f.gpt, f.probes, cases, opt);
  REQUIRE(res.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& r = res[i];
    const auto g = get_ground_truth(cases[i].moves, cases[i].cell, cases[i].target);
    CHECK(r.truth.legal_after == g.legal_after);
    CHECK(std::popcount(r.predicted_after) == std::popcount(g.legal_after));
    CHECK(r.errors == top_n_errors(r.after.probs, g.legal_after));
    CHECK(r.null_errors == top_n_errors(r.before.probs, g.legal_after));
    CHECK(r.unedited_errors == top_n_errors(r.before.probs, g.legal_before));
  }
  // The first case's edited legal set is hand-checked elsewhere: c6 d6 e6 f6 g6.
  CHECK(std::popcount(res[0].truth.legal_after) == 5);
  // An unusable case is refused with its reason.
  std::vector<EditCase> bad = {{othello::parse_game("f5"), othello::parse_square("d4"), CellState::theirs}};
  CHECK_THROWS_AS(run_cases(f.gpt, f.probes, bad, opt), UserError);
  std::vector<EditCase> centre = {{othello::parse_game("f5"), othello::parse_square("e5"), CellState::empty}};
  CHECK_THROWS_AS(run_cases(f.gpt, f.probes, centre, opt), UserError);
  const BenchRow row = summarise("linear", "flip", "reachable", res);
  CHECK(row.cases == 3);
  double mean = 0;
  for (auto& r : res) mean += r.errors / 3.0;
  CHECK(row.errors_mean == doctest::Approx(mean));
  double unedited = 0;
  for (auto& r : res) unedited += r.unedited_errors / 3.0;
  CHECK(row.unedited_mean == doctest::Approx(unedited));
  CHECK(bench_svg({row}, "t").find("<svg") == 0);
}

TEST_CASE("latent saliency: one flip per occupied cell, S = p0 - p(flipped)") {
  Fixture f;
  InterventionOptions opt;
  opt.layer = 1;
  const std::vector<int> moves = othello::parse_game("f5 d6 c3");
  const Saliency s = latent_saliency(f.gpt, f.probes, moves, opt);
  const othello::Board b = board_after(moves);
  CHECK(s.cells == (b.player | b.opponent));
  const auto clean = run_model(f.gpt, {moves}, f.probes, {}, {}, opt);
  CHECK(s.p0 == doctest::Approx(clean[0].probs[s.move]));
  const int c = othello::parse_square("d5");
  const auto flipped = run_model(f.gpt, {moves}, f.probes,
                                 {BoardEdit{{c}, {get_cell_state(b, c) == CellState::mine ? CellState::theirs : CellState::mine}}},
                                 {b.to_move}, opt);
  CHECK(s.s[c] == doctest::Approx(s.p0 - flipped[0].probs[s.move]).epsilon(1e-4));
  CHECK(s.s[0] == 0.0f);  // a1 is empty
  const std::string svg = saliency_svg(s, "test");
  CHECK(svg.find("<svg") == 0);
  CHECK(svg.find(">a<") != std::string::npos);
  CHECK(svg.find("stroke-width=\"4\"") != std::string::npos);  // the move is boxed
}

TEST_CASE("intervention runner: probe classes in both bases, and reused unedited predictions") {
  probes::Probe mt, bw;
  mt.target = probes::Target::mine_theirs;
  bw.target = probes::Target::black_white;
  using othello::Color;
  CHECK(probe_class(mt, CellState::mine, Color::white) == 1);
  CHECK(probe_class(mt, CellState::theirs, Color::black) == 2);
  CHECK(probe_class(bw, CellState::mine, Color::black) == 1);    // black's own disc: black
  CHECK(probe_class(bw, CellState::mine, Color::white) == 2);    // white's own disc: white
  CHECK(probe_class(bw, CellState::theirs, Color::white) == 1);  // white's opponent: black
  CHECK(probe_class(bw, CellState::empty, Color::white) == 0);
  Fixture f;
  std::vector<EditCase> cases = {{othello::parse_game("f5"), othello::parse_square("e4"), CellState::mine},
                                 {othello::parse_game("f5 d6 c3 d3 c4"), othello::parse_square("d5"), CellState::theirs}};
  InterventionOptions opt;
  opt.layer = 1;
  const auto a = run_cases(f.gpt, f.probes, cases, opt);
  std::vector<Prediction> before;
  for (auto& r : a) before.push_back(r.before);
  const auto b = run_cases(f.gpt, f.probes, cases, opt, nullptr, &before);
  for (size_t i = 0; i < cases.size(); ++i) {
    CHECK(a[i].errors == b[i].errors);
    CHECK(a[i].null_errors == b[i].null_errors);
    for (int sq = 0; sq < 64; ++sq) CHECK(a[i].after.probs[sq] == doctest::Approx(b[i].after.probs[sq]));
  }
}

TEST_CASE("intervention positions: since = every position since the cell last changed, in each one's terms") {
  using othello::Color;
  const std::vector<int> moves = othello::parse_game("f5 d6 c3");  // white to move after c3
  // d5: black from the start, flipped white by d6 (move 1), untouched by c3: positions 1 and 2.
  const int d5 = othello::parse_square("d5");
  auto erase = plan_positions(moves, BoardEdit{{d5}, {CellState::empty}}, Color::white, Positions::since);
  REQUIRE(erase.size() == 2);
  CHECK(erase[0].t == 1);
  CHECK(erase[1].t == 2);
  CHECK(erase[0].state == CellState::empty);
  CHECK(erase[0].to_move == Color::black);  // after d6, black moves
  CHECK(erase[1].to_move == Color::white);
  // f5: placed by black at move 0, never flipped. Flipping it to white ("mine" for white, to move
  // at the end) is "mine" after moves 0 and 2 (white to move) and "theirs" after move 1 (black).
  const int f5 = othello::parse_square("f5");
  auto flip = plan_positions(moves, BoardEdit{{f5}, {CellState::mine}}, Color::white, Positions::since);
  REQUIRE(flip.size() == 3);
  CHECK(flip[0].state == CellState::mine);
  CHECK(flip[1].state == CellState::theirs);
  CHECK(flip[2].state == CellState::mine);
  // last: the last position only, in the caller's terms.
  auto last = plan_positions(moves, BoardEdit{{f5}, {CellState::mine}}, Color::white, Positions::last);
  REQUIRE(last.size() == 1);
  CHECK(last[0].t == 2);
  CHECK(last[0].state == CellState::mine);
  CHECK(parse_positions("since") == Positions::since);
  CHECK_THROWS_AS(parse_positions("first"), UserError);
}

TEST_CASE("intervention runner: --positions since edits the planned positions at every edited layer") {
  Fixture f;
  const std::vector<std::vector<int>> prefixes = {othello::parse_game("f5 d6 c3 d3 c4"),
                                                  othello::parse_game("f5 d6 c3")};
  // Erase a disc placed early (f5), and one placed by the last move (c3).
  const std::vector<BoardEdit> edits = {BoardEdit{{othello::parse_square("f5")}, {CellState::empty}},
                                        BoardEdit{{othello::parse_square("c3")}, {CellState::empty}}};
  std::vector<othello::Color> to_move;
  for (auto& m : prefixes) to_move.push_back(board_after(m).to_move);
  InterventionOptions since;
  since.layer = 1;
  since.positions = Positions::since;
  since.linear.scale = 2;
  InterventionOptions last = since;
  last.positions = Positions::last;
  const auto ps = run_model(f.gpt, prefixes, f.probes, edits, to_move, since);
  const auto pl = run_model(f.gpt, prefixes, f.probes, edits, to_move, last);
  // By hand: every linear probe layer from 1 on, each planned (position, cell).
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const auto plan = plan_positions(prefixes[i], edits[i], to_move[i], Positions::since);
    std::vector<uint8_t> tokens(f.cfg.n_ctx, 0);
    for (size_t t = 0; t < prefixes[i].size(); ++t) tokens[t] = uint8_t(othello::square_to_token(prefixes[i][t]));
    model::Hooks h;
    for (auto& [l, p] : f.probes.linear) {
      const probes::Probe* pp = &p;
      h.edits[p.hook] = [&, pp](model::TensorView v) {
        for (const EditAt& a : plan)
          linear_edit(v.data + size_t(a.t) * f.cfg.d_model, *pp, a.cell, probe_class(*pp, a.state, a.to_move), since.linear);
      };
    }
    f.gpt.forward(tokens.data(), nullptr, 1, &h);
    const int lastpos = int(prefixes[i].size()) - 1;
    const float* z = f.gpt.logits() + size_t(lastpos) * f.cfg.d_vocab;
    double mx = -1e30, sum = 0;
    for (int t = 1; t < f.cfg.d_vocab; ++t) mx = std::max(mx, double(z[t]));
    for (int t = 1; t < f.cfg.d_vocab; ++t) sum += std::exp(z[t] - mx);
    double diff_last = 0;
    for (int t = 1; t < f.cfg.d_vocab; ++t) {
      const int sq = othello::token_to_square(t);
      CHECK(ps[i].probs[sq] == doctest::Approx(std::exp(z[t] - mx) / sum).epsilon(1e-4));
      diff_last += std::fabs(ps[i].probs[sq] - pl[i].probs[sq]);
    }
    if (i == 0) CHECK(diff_last > 1e-5);   // f5 was placed at move 0: earlier positions edited too
    if (i == 1) CHECK(diff_last < 1e-6);   // c3 was placed by the last move: the same as last
  }
  // An edit written at another hook is the last position's only.
  InterventionOptions other = since;
  other.hook_suffix = "hook_attn_out";
  CHECK_THROWS_AS(run_model(f.gpt, prefixes, f.probes, edits, to_move, other), UserError);
}
