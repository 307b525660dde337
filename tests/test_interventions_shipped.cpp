// The real effect on a trained model: edit the board inside the shipped model (data/default/
// model.ckpt with its probes in data/default/probes/) and check that the predicted legal moves
// move to the edited board's. Skipped, with a message, while no trained model is shipped; an
// interim model below the bars (its card says so) must still show the effect, a final one must
// meet issue 7's error bars. The card's own held-out figures are checked whenever a model is shipped.
#include <doctest/doctest.h>

#include <filesystem>
#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/generate.hpp"
#include "model/evaluate.hpp"
#include "model/train_state.hpp"

#include "interventions/load.hpp"
#include "interventions/report.hpp"
#include "othello/game_record.hpp"

using namespace ogpt;
using namespace ogpt::interventions;

namespace {
const std::string kDir = std::string(OGPT_SOURCE_DIR) + "/data/default";
bool shipped() { return std::filesystem::exists(kDir + "/model.ckpt"); }
nlohmann::json card() { return nlohmann::json::parse(std::ifstream(kDir + "/card.json")); }
}  // namespace

TEST_CASE("shipped model: fresh held-out games reproduce the card's quality") {
  // the model is committed: a checkout without it is broken, not a reason to skip
  REQUIRE_MESSAGE(shipped(), "no shipped model in " << kDir);
  const auto c = card();
  auto gpt = load_gpt("", kDir, 64);
  // 300 games of a stream neither training (seed 1) nor the card (9001) used
  std::vector<data::Game> games(300);
  data::generate_games(777, model::kHeldOutFirst, games.size(), games.data());
  const model::EvalResult r = model::evaluate(*gpt, games);
  const double top1 = c["heldout"]["legal_top1"], excess = c["heldout"]["excess_loss"];
  MESSAGE("card: legal top-1 " << top1 << ", excess " << excess << "; measured on 300 fresh games: "
                               << r.legal_top1 << ", " << r.excess_loss);
  // ~17,700 positions: the binomial standard error of the top-1 rate is below 0.2 points
  CHECK(std::fabs(r.legal_top1 - top1) <= 0.01);
  CHECK(std::fabs(r.excess_loss - excess) <= 0.03);
  // the card's verdict follows from its own figures
  double best_linear = 0;
  for (double a : c["probes"]["test_accuracy_by_layer"]["linear mine-theirs"]) best_linear = std::max(best_linear, a);
  CHECK(c["meets_bars"].get<bool>() == (top1 >= 0.9995 && excess <= 0.02 && best_linear >= 0.99));
}

TEST_CASE("interventions on the shipped model: flips and erases move the predictions to the edited board") {
  const std::string dir = kDir;
  REQUIRE_MESSAGE((shipped() && std::filesystem::exists(dir + "/probes")), "no shipped model and probes in " << dir);
  // An interim model (below the bars) is held to the causal claim itself: the edit moves the
  // predictions most of the way to the edited board. The bars (0.15 / 0.10 errors) are for
  // a model that meets its own: the unedited interim model already errs ~0.3-0.4 a case.
  const bool final_model = card()["meets_bars"].get<bool>();
  auto gpt = load_gpt("", dir, 32);
  const ProbeSet probes = load_probes_arg("", dir);
  for (CaseKind kind : {CaseKind::flip, CaseKind::erase}) {
    const std::string kind_name = case_kind_name(kind);
    CAPTURE(kind_name);
    CaseOptions co;
    co.seed = 11;
    co.per_set = 32;
    co.max_nodes = 2000;
    const auto cases = make_cases(kind, co);
    InterventionOptions opt;  // linear, default layers
    const auto res = run_cases(*gpt, probes, cases, opt);
    const BenchRow row = summarise("linear", case_kind_name(kind), "both", res);
    MESSAGE(kind_name << ": errors " << row.errors_mean << " +- " << row.errors_ci95 << ", null "
                                 << row.null_mean);
    // Every case changes the legal set, so the unedited model must be wrong somewhere ...
    CHECK(row.null_mean >= 1.0);
    // ... and the edited model must be far closer to the edited board than the unedited one
    // (the shipped 4.78 M-game model: flips 0.6-0.9 and erases 0.9-1.2 against 2.5-2.9).
    CHECK(row.errors_mean <= 0.5 * row.null_mean);
    if (final_model) CHECK(row.errors_mean <= (kind == CaseKind::flip ? 0.15 : 0.10) + row.errors_ci95);
    else MESSAGE("issue 7's bars (0.15 / 0.10) not checked: the card says the model is short of its own bars");
  }
  // A hand-checked flip: after f5 f6 e6, e4 turned white (mine: white moves) makes the legal moves
  // f4 c6 d6 g6 e7 instead of f4 d6. Not after f5 alone: at the first two positions the model
  // predicts from the opening itself (4 first moves, 12 second), not from the board its later
  // layers hold, and no edit moves it (10.03 M-game model: after f5, errors 6 = null 6).
  const auto r = run_cases(*gpt, probes, {EditCase{othello::parse_game("f5 f6 e6"), othello::parse_square("e4"),
                                                   CellState::mine}}, {})[0];
  CHECK(r.null_errors >= 2);  // the unedited top-5 misses the moves the edit makes legal
  CHECK(r.errors < r.null_errors);
}
