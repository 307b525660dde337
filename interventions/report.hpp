#pragma once
// What the intervention commands report: latent saliency maps (Li et al. 2023, Algorithm 1), the
// benchmark summary (mean errors with a 95% confidence interval against the null baseline), and
// small dependency-free SVG pictures of both.
#include <string>
#include <vector>

#include "interventions/intervene.hpp"

namespace ogpt::interventions {

// ---- latent saliency -----------------------------------------------------------------------------
struct Saliency {
  othello::Board board;        // after the prefix
  int move = -1;               // the attributed move (the model's top-1 unless chosen)
  float p0 = 0;                // p(move) without intervention
  float s[64] = {};            // S_cell = p0 - p(move | that cell flipped in the model); 0 if empty
  othello::Bitboard cells = 0; // the occupied cells that were flipped
};
// Flips every occupied cell in turn (one model run per cell, batched) with the options' method
// and layers. move < 0: the model's top-1 prediction.
Saliency latent_saliency(model::GPT& gpt, const ProbeSet& probes, const std::vector<int>& moves,
                         const InterventionOptions& opt, int move = -1);
// An 8x8 heatmap (a1 top-left, letters across, digits down), a diverging colour scale centred on 0,
// the discs drawn small, the attributed move boxed; title = a caption line.
std::string saliency_svg(const Saliency& s, const std::string& title);

// ---- benchmark summary ---------------------------------------------------------------------------
struct BenchRow {
  std::string method, kind, set;
  int cases = 0;
  double errors_mean = 0, errors_ci95 = 0;  // half-width of the normal 95% interval, 1.96 sd/sqrt(n)
  double null_mean = 0, null_ci95 = 0;
  // The unedited model against the unedited board: the floor an edit can hope to reach. For a
  // model that has not learnt the rules well, errors near this (not 0) mean the edit worked.
  double unedited_mean = 0;
  double changed_mean = 0;   // mean |legal_after xor legal_before| of the cases (how much the edit matters)
  double reached = 0;        // fraction of cases whose top-N after the edit is exactly right
  // How the cases were drawn (filled by the caller from the EditCases): mean prefix length and
  // the fraction whose set membership is proven (see cases.hpp).
  double prefix_mean = 0, proven = 0;
};
BenchRow summarise(const std::string& method, const std::string& kind, const std::string& set,
                   const std::vector<CaseResult>& results);
// One row per case set (reachable, unreachable) present in `cases` (one kind, one method;
// results[i] belongs to cases[i]), with prefix_mean and proven filled in.
std::vector<BenchRow> summarise_by_set(const std::string& method, const std::string& kind,
                                       const std::vector<EditCase>& cases, const std::vector<CaseResult>& results);
// Grouped bars: one group per (kind, set), one bar per method plus the null baseline, with the
// confidence intervals as whiskers.
std::string bench_svg(const std::vector<BenchRow>& rows, const std::string& title);

}  // namespace ogpt::interventions
