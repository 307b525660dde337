#pragma once
// Interventions on a model: run a game prefix, edit the board representation at one or more
// layers (at the last position, or at every position since the cell last changed), and read the
// model's next-move distribution before and after.
//
// Layers: "layer L" is the residual stream after L blocks, where a probe with probe.layer == L
// reads (its probe.hook, e.g. blocks.{L-1}.hook_resid_post). An intervention starts at layer L
// and (all_later) repeats at every later layer that has a probe, each with that layer's own probe,
// inside one forward pass: the edit hooks run in forward order, so a later edit sees the effect
// of the earlier ones (Li et al.'s layer-by-layer scheme). Editing the start layer alone does much
// worse: the later layers read the cell again from the earlier positions (19.61 M release, 100
// cases per set of seed 2, from layer 5: mean errors 0.75 against 0.44 at every later layer; at
// hook_attn_out 1.15 at best, scale 4, against 0.28).
//
// hook_suffix (optional, e.g. "hook_attn_out"): edit blocks.{L-1}.<suffix> instead of the probe's
// own hook. The change is then computed on the unedited activation at the probe's hook (from a
// first, clean forward pass) and ADDED at the chosen hook, as Nanda et al.'s code adds its
// direction to hook_attn_out. Last position only.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "interventions/cases.hpp"
#include "interventions/edit.hpp"
#include "model/gpt.hpp"
#include "probes/probe.hpp"

namespace ogpt::interventions {

// Probes by layer, for each kind; loaded from a probe file or a directory of *.probe files.
struct ProbeSet {
  std::map<int, probes::Probe> linear, mlp;  // key: probe.layer
  bool empty() const { return linear.empty() && mlp.empty(); }
  std::string describe() const;  // "linear layers 1-8, mlp layers 4-8"
};
// Keeps the board-basis probes (mine-theirs / black-white) at residual-stream hooks; others are
// ignored. Throws UserError when none is found, naming the path.
ProbeSet load_probe_set(const std::string& path);
void add_probe(ProbeSet& set, probes::Probe p);  // for tests and callers holding probes already

enum class Method : uint8_t { linear = 0, gradient = 1 };
const char* method_name(Method m);         // "linear" / "gradient"
Method parse_method(const std::string& s); // throws UserError

// Which positions an edit rewrites.
//   last:  the last position only (Li et al.; Nanda et al.).
//   since: every position since the edited cell last changed (its disc placed, or last flipped),
//          each in its own terms (mine/theirs relative to the player to move there). The later
//          layers attend to earlier positions, which still hold the unedited cell; rewriting them
//          too tells the model one consistent story. Measured on the 8x256 model of 3.48M games
//          (200 erase cases per set, linear, scale 4, start layer 4): the erased cell's own
//          legality was missed in 22 cases against 36 (reachable boards) and 23 against 58.
enum class Positions : uint8_t { last = 0, since = 1 };
const char* positions_name(Positions p);          // "last" / "since"
Positions parse_positions(const std::string& s);  // throws UserError
// The linear edit's default --scale for each: pushing at many positions needs a smaller push
// (same model and cases: for since, scale 2 beat 1.5, 3, 4 and 8 on erases and 3 and 4 on flips;
// for last, 4 beat 1, 2 and 8). A change ADDED at another hook (--hook) at the start layer and
// every later one adds up over those layers, so it needs a smaller one still: 1 (the 17.30 M
// release, start layer 5, hook_attn_out, 100 cases per set of seed 2: mean errors 0.29 at scale
// 1 against 0.45 / 0.36 / 0.38 / 0.52 at 0.25 / 0.5 / 1.5 / 2, and 1.30 at 4).
float default_scale(Positions p, bool added_at_hook = false);

struct InterventionOptions {
  Method method = Method::linear;
  Positions positions = Positions::last;
  int layer = -1;           // start layer; -1 = default_layer(method, probes, n_layers)
  bool all_later = true;    // also edit every later layer that has a probe
  std::string hook_suffix;  // empty = the probe's own hook (see above)
  LinearEditOptions linear;
  GradientEditOptions gradient;
};
// Linear: the linear probes; gradient: the MLP probes, or the linear ones if there is no MLP probe.
const std::map<int, probes::Probe>& probes_for(const ProbeSet& set, Method m);
// The default start layer, or the nearest layer with a probe. Linear: 5/8 of the depth, rounded
// (layer 5 of 8, where Nanda et al. take their probe direction; Li et al. report 5 as the best
// start of their gradient edit too, which here did no better from 5 than from 4, below);
// on the shipped 8x256 model (12.16 M games) it beat every other start: mean errors over
// the four sets (flip/erase x reachable/unreachable, 100 cases each, seed 2, scale 4) 0.44 from
// layer 5 against 0.66 / 0.67 / 0.54 / 1.50 from 3 / 4 / 6 / 7, and with --positions since
// (scale 2) 0.28 against 0.37 from 4. Gradient: n_layers/2 (1.45 from layer 4 against 1.58 from
// 5, 40 cases per set: no gain from moving it).
int default_layer(Method m, const ProbeSet& set, int n_layers);

// The model's next-move probabilities per square (softmax over the 60 move tokens, padding
// excluded; the centre squares get 0) at the last position of each prefix.
struct Prediction {
  float probs[64] = {};
};

// One board edit inside the model: the cells to rewrite and their states, relative to the
// player to move (converted to each probe's basis with probe_class).
struct BoardEdit {
  std::vector<int> cells;          // squares
  std::vector<CellState> states;   // one per cell
};
// The probe class that means `state` for the player to move, in the probe's basis.
int probe_class(const probes::Probe& p, CellState state, othello::Color to_move);

// One (position, cell) that an edit rewrites, with the cell's state in that position's own terms.
struct EditAt {
  int t = 0;     // position: the residual stream after reading move t (0-based)
  int cell = 0;
  CellState state = CellState::empty;  // relative to `to_move`
  othello::Color to_move = othello::Color::black;  // the player to move after move t
};
// The (position, cell) pairs an edit of prefix `moves` rewrites (to_move: the player to move
// after the prefix, whose terms e.states are in). last: position moves.size()-1 only. since: every
// position from the last move that changed the cell (placed or flipped it) on, the edited colour
// kept fixed in black/white terms and re-expressed as mine/theirs for each position's player.
std::vector<EditAt> plan_positions(const std::vector<int>& moves, const BoardEdit& e, othello::Color to_move,
                                   Positions positions);

// Runs prefixes (each 1..n_ctx moves) through the model, editing prefix i with edits[i] at the
// positions opt.positions names (no edit when edits is empty or edits[i].cells is empty). Batches of up to
// gpt.max_batch(). to_move[i] = the player to move after prefix i (for black/white probes).
std::vector<Prediction> run_model(model::GPT& gpt, const std::vector<std::vector<int>>& prefixes,
                                  const ProbeSet& probes, const std::vector<BoardEdit>& edits,
                                  const std::vector<othello::Color>& to_move, const InterventionOptions& opt);

// One case, end to end.
struct CaseResult {
  GroundTruth truth;
  Prediction before, after;
  othello::Bitboard predicted_before = 0;  // top-N before the edit, N = |legal_before|
  othello::Bitboard predicted_after = 0;   // top-N after the edit, N = |legal_after|
  othello::Bitboard null_predicted = 0;    // top-N before the edit, N = |legal_after|
  int errors = 0;       // predicted_after vs legal_after
  int null_errors = 0;  // null_predicted vs legal_after (the unedited model)
  int unedited_errors = 0;  // predicted_before vs legal_before: the model's own error, no edit anywhere
};
// Runs the cases (unusable ones must have been filtered: throws UserError naming the case).
// progress (optional) is called with the number of cases done. before (optional): the unedited
// predictions of these cases from an earlier call (e.g. another method), to skip recomputing them.
std::vector<CaseResult> run_cases(model::GPT& gpt, const ProbeSet& probes, const std::vector<EditCase>& cases,
                                  const InterventionOptions& opt,
                                  const std::function<void(size_t)>& progress = nullptr,
                                  const std::vector<Prediction>* before = nullptr);

}  // namespace ogpt::interventions
