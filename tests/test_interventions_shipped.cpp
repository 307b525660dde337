// The real effect on a trained model: edit the board inside the shipped model (data/default/
// model.ckpt with its probes in data/default/probes/) and check that the predicted legal moves
// move to the edited board's. Skipped, with a message, while no trained model is shipped.
#include <doctest/doctest.h>

#include <filesystem>

#include "interventions/load.hpp"
#include "interventions/report.hpp"
#include "othello/game_record.hpp"

using namespace ogpt;
using namespace ogpt::interventions;

TEST_CASE("interventions on the shipped model: flips and erases move the predictions to the edited board") {
  const std::string dir = std::string(OGPT_SOURCE_DIR) + "/data/default";
  if (!std::filesystem::exists(dir + "/model.ckpt") || !std::filesystem::exists(dir + "/probes")) {
    MESSAGE("skipped: no shipped model and probes in " << dir);
    return;
  }
  auto gpt = load_gpt("", dir, 32);
  const ProbeSet probes = load_probes_arg("", dir);
  for (CaseKind kind : {CaseKind::flip, CaseKind::erase}) {
    CAPTURE(case_kind_name(kind));
    CaseOptions co;
    co.seed = 11;
    co.per_set = 16;
    co.max_nodes = 2000;
    const auto cases = make_cases(kind, co);
    InterventionOptions opt;  // linear, default layers
    const auto res = run_cases(*gpt, probes, cases, opt);
    const BenchRow row = summarise("linear", case_kind_name(kind), "both", res);
    MESSAGE(case_kind_name(kind) << ": errors " << row.errors_mean << " +- " << row.errors_ci95 << ", null "
                                 << row.null_mean);
    // Every case changes the legal set, so the unedited model must be wrong somewhere ...
    CHECK(row.null_mean >= 1.0);
    // ... and the edited model must be far closer to the edited board than the unedited one.
    CHECK(row.errors_mean <= 0.5 * row.null_mean);
  }
  // The hand-checked flip: after f5, e4 turned white gives c6 d6 e6 f6 g6.
  const auto r = run_cases(*gpt, probes, {EditCase{othello::parse_game("f5"), othello::parse_square("e4"),
                                                   CellState::mine}}, {})[0];
  CHECK(r.null_errors >= 2);  // the unedited top-5 holds f4 (now illegal) and misses at least one new move
  CHECK(r.errors < r.null_errors);
}
