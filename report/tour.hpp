#pragma once
// `othello-gpt tour`: the whole experiment in a few minutes on a trained model, as steps that
// each measure something, and a self-contained HTML report of what they measured.
//
//   1. game      one fresh random game: the board, the model's next-move probabilities, the
//                legal set, whether the top-N is exactly the legal set; plus legal top-1 and
//                loss over a few hundred fresh games
//   2. sweep     probes::run_sweep on fresh games: linear and MLP probes, black/white and
//                mine/theirs, every layer, with the random-model control and majority baseline
//   3. bench     the intervention benchmark (flip + erase, reachable + unreachable cases) with
//                the shipped probes, and one worked intervention (the first reachable flip case)
//   4. saliency  the latent saliency map of step 1's position
// Every number comes from this run, except the model card's (report/card.hpp), which the report
// labels as the training run's.
//
// "Fresh" games: the stream `seed` (default 4711; scripts/ship_default.sh trains on stream 1,
// measures the card's held-out figures on 9001 and trains the shipped probes on 20231). A seed
// equal to the card's training seed gets a warning.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/game.hpp"
#include "interventions/intervene.hpp"
#include "interventions/report.hpp"
#include "model/evaluate.hpp"
#include "model/gpt.hpp"
#include "probes/experiment.hpp"
#include "report/card.hpp"

namespace ogpt::report {

struct TourOptions {
  std::string model, probe;    // empty: the shipped model in default_dir; probes beside the model
  std::string default_dir;     // the shipped model's directory (data/default)
  uint64_t seed = 4711;       // stream of fresh random games
  int games = 2000;            // games of the probe sweep
  int eval_games = 500;        // games of step 1's legal top-1 / loss (the first of the same stream)
  int cases = 50;              // intervention cases per (kind, set): 4 sets
  int show_move = 20;          // step 1 shows the position after this move of game 0
  // Probe training budget: at least min_steps AdamW steps of probe_batch positions (250 x 1024
  // read 76.97% where 250 x 4096 read 77.29% and 100 x 4096 76.71%, linear mine/theirs, layer 5
  // of an early 8x256 checkpoint, 2000 games; MLP black/white 74.00 / 74.04 / 72.94%).
  double epochs_linear = 1, epochs_mlp = 2;
  int min_steps = 250;
  int probe_batch = 1024;
  int eval_every = 25;         // validation checks every this many steps (10 checks: the checks on the
                               // 10% validation games cost about a third of a probe's time at 20)
  bool gradient = true;        // also run Li et al.'s gradient method in the benchmark
  uint64_t max_nodes = 2000;   // reachability search budget per case
  int batch = 64;              // games per forward pass
  bool progress = true;        // progress bars on stderr
};
// The --quick sizes (tests, smoke runs): a few dozen games and cases, short probe training.
void apply_quick(TourOptions& o);

struct StepTime {
  std::string step;
  double wall_s = 0, cpu_s = 0;  // cpu: process CPU time (all threads)
};

struct GameStep {
  uint64_t game_index = 0;
  std::vector<int> moves;             // the game's first show_move moves
  othello::Board board;               // after them (side to move = the player to move next)
  othello::Bitboard legal = 0;        // its legal moves
  othello::Bitboard predicted = 0;    // the model's top-N, N = |legal|
  interventions::Prediction pred;     // next-move probabilities per square
  int errors = 0;                     // top-N vs legal (false positives + false negatives)
  // Over every position of the same game that has a next move:
  int positions = 0, top1_legal = 0, topn_exact = 0;
  model::EvalResult eval;             // over the first eval_games games of the stream
};

struct SweepStep {
  uint64_t games = 0, positions = 0, train_positions = 0, val_positions = 0, test_positions = 0;
  uint64_t train_games = 0, val_games = 0, test_games = 0;
  std::vector<probes::SweepRow> rows;
  const probes::SweepRow* find(int layer, probes::Target t, probes::Kind k, bool random_model) const;
  int best_layer(probes::Target t, probes::Kind k) const;  // highest test accuracy, trained model
};

struct BenchStep {
  std::vector<interventions::EditCase> cases;
  std::vector<interventions::BenchRow> rows;
  std::map<std::string, std::string> layers;  // by method: the layers its edit writes, e.g. "4,5,6,7,8"
  int example = -1;                         // index into cases of the worked intervention
  interventions::CaseResult example_result;
};

struct Tour {
  TourOptions opt;
  std::string model_path, probe_path;
  model::Config cfg;
  interventions::ProbeSet probes;
  ModelCard card;
  std::vector<std::string> warnings;
  std::unique_ptr<model::GPT> gpt;  // f32 (edits are small numeric changes)
  GameStep game;
  SweepStep sweep;
  BenchStep bench;
  interventions::Saliency saliency;
  std::vector<int> saliency_moves;
  std::vector<StepTime> times;
  double total_wall_s = 0, total_cpu_s = 0;
};

// The games of the tour: games 0..n-1 of stream `seed`.
std::vector<data::Game> tour_games(uint64_t seed, int n);
// The sweep's options for these tour options (so a test can rerun probes::run_sweep identically).
probes::SweepOptions sweep_options(const TourOptions& o);

// Loads the model, the probes and the card; throws UserError naming the path and how to get a
// model or probes when one is missing.
Tour tour_begin(const TourOptions& o);
// The probes the tour reads: --probe, else the probes directory beside the model's checkpoint.
std::string tour_probe_path(const std::string& resolved_model, const std::string& probe_arg);
void tour_game(Tour& t);
void tour_sweep(Tour& t, const std::function<void(int done, int total, const probes::SweepRow&)>& on_row = nullptr);
void tour_bench(Tour& t, const std::function<void(uint64_t done, uint64_t total, const std::string&)>& on_case = nullptr);
void tour_saliency(Tour& t);

// Runs f, adding its wall and CPU time to t.times under `step`.
void timed(Tour& t, const std::string& step, const std::function<void()>& f);

// ---- output (report/tour_text.cpp, report/tour_html.cpp) -------------------------------------------
std::string game_text(const Tour& t);
std::string sweep_text(const Tour& t);
std::string bench_text(const Tour& t);
std::string saliency_text(const Tour& t);
nlohmann::json tour_json(const Tour& t, const std::string& html_path);
std::string tour_html(const Tour& t);
// The report's pictures as stand-alone SVG files (file name, SVG text), for a README or a paper:
// probe-sweep.svg, intervention-bench.svg, saliency.svg: the drawings the report shows inline.
std::vector<std::pair<std::string, std::string>> tour_figures(const Tour& t);

// Number formats shared by the text, the HTML and the tests: accuracy in percent with 2
// decimals ("97.31"), errors per case with 3 decimals ("0.125").
std::string fmt_pct(double fraction);
std::string fmt_err(double errors);
// The id of a sweep row's cell in the HTML table, e.g. "sweep-trained-linear-mine-theirs-L3".
std::string sweep_cell_id(const probes::SweepRow& r);
// The id of a benchmark figure in the HTML, e.g. "bench-linear-flip-reachable-errors" (what:
// errors, ci, null, exact).
std::string bench_cell_id(const interventions::BenchRow& r, const std::string& what);

}  // namespace ogpt::report
