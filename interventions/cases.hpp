#pragma once
// Intervention cases and their ground truth, from the engine alone (no model here).
//
// A case is (game prefix, cell, target state): play the prefix, then pretend the cell holds
// `target` (relative to the player to move next: mine / theirs / empty). The edited board may be
// unreachable by legal play; its legal moves are still well defined (get_moves works on any pair
// of bitboards), and they are what the edited model should predict.
//
// Benchmark sets. Li et al. 2023 built "natural" and "unnatural" subsets of 1000 flip cases but
// did not publish the construction (only a pickle of cases). Ours is operational and about the
// EDITED position: reachable = a legal game reaching the edited discs was found (a proof);
// unreachable = the bounded search found none (a proof when the search was exhausted, which is
// recorded per case, otherwise "no witness within the budget"). See classify_reachability.
//   kind flip  = an occupied cell changes colour (mine <-> theirs)
//   kind erase = an occupied cell becomes empty (Nanda et al. 2023's "erase"); never a centre
//                square, which no game empties (see GroundTruth::usable)
//   set reachable / unreachable = whether the edited position can arise in a legal game.
#include <cstdint>
#include <string>
#include <vector>

#include "othello/board.hpp"

namespace ogpt::interventions {

// Cell states relative to the player to move, numbered as data/labels.hpp's mine/theirs classes.
enum class CellState : uint8_t { empty = 0, mine = 1, theirs = 2 };
const char* cell_state_name(CellState s);        // "empty" / "mine" / "theirs"
CellState parse_cell_state(const std::string& s);  // throws UserError listing the choices

enum class CaseKind : uint8_t { flip = 0, erase = 1 };
enum class CaseSet : uint8_t { reachable = 0, unreachable = 1 };
const char* case_kind_name(CaseKind k);  // "flip" / "erase"
const char* case_set_name(CaseSet s);    // "reachable" / "unreachable"

struct EditCase {
  std::vector<int> moves;  // the game prefix, squares (passes implicit), 1..59 moves
  int cell = 0;            // square edited, a1 = 0
  CellState target = CellState::empty;
  CaseKind kind = CaseKind::flip;
  CaseSet set = CaseSet::reachable;
  bool proven = true;      // set membership proven: a witness game, or an exhausted search
};

// The state of a cell relative to the side to move.
CellState get_cell_state(const othello::Board& b, int cell);
// The board with `cell` set to `target` (relative to b's side to move); side to move unchanged.
othello::Board edit_board(const othello::Board& b, int cell, CellState target);

// The board after the prefix (side to move = the player to move next, after a forced pass).
// Throws UserError for an illegal prefix (parse_game's message).
othello::Board board_after(const std::vector<int>& moves);

// Ground truth of one case: the boards and legal sets before and after the edit.
struct GroundTruth {
  othello::Board before, after;
  othello::Bitboard legal_before = 0, legal_after = 0;
  bool usable = true;     // false when the edited board leaves the player to move no legal move,
                          // when the prefix ends in a pass and the edit gives the passer a move
                          // (the side to move would change), or the edit empties a centre square
                          // (never empty in a game)
  std::string why_not;    // reason when !usable
};
GroundTruth get_ground_truth(const std::vector<int>& moves, int cell, CellState target);

// ---- the metric (Li et al.; Nanda et al. use top-N) -------------------------------------------
// probs[64]: the model's next-move probability per square (0 for the centre squares).
// The predicted set is the top-n squares by probability (ties: lower square first).
othello::Bitboard top_n_squares(const float* probs, int n);
// Errors of a predicted set against a legal set: false positives + false negatives.
int count_errors(othello::Bitboard predicted, othello::Bitboard legal);
// Errors of the top-N prediction (N = |legal|) against `legal`.
int top_n_errors(const float* probs, othello::Bitboard legal);

// ---- reachability ------------------------------------------------------------------------------
enum class Reach : uint8_t { reachable, unreachable, unknown };
// Searches for a legal game from the start whose final position has exactly the discs of
// `target` (black and white; the side to move is ignored, see below). The search plays only
// moves on squares occupied in `target`, never revisits a position, and prunes a branch as soon
// as a corner (which can never flip again) holds the wrong colour. Finding a game proves
// reachability; exhausting the search proves unreachability; running past `max_nodes`
// positions gives `unknown`. *witness (optional) receives the game found. `guide` (optional): a
// game whose move at each depth is tried first (the prefix the edited board came from).
// Why the side to move is ignored: an erase leaves one disc fewer with the same player to move,
// which in a game without passes is the other player's turn; requiring the side to move would
// make "reachable erase" nearly empty. For flips the disc count fixes it in games without passes.
Reach classify_reachability(const othello::Board& target, uint64_t max_nodes,
                            std::vector<int>* witness = nullptr,
                            const std::vector<int>* guide = nullptr);

// ---- benchmark case sets -----------------------------------------------------------------------
struct CaseOptions {
  uint64_t seed = 1;
  int per_set = 1000;           // cases per (kind, set)
  bool require_change = true;   // keep only edits that change the legal-move set
  uint64_t max_nodes = 5000;    // reachability search budget per case (unknown -> unreachable)
  int min_moves = 1, max_moves = 59;  // prefix length range (uniform within a game's length)
};
// Cases for one kind, per_set reachable then per_set unreachable, fully determined by the
// options. Sampling: game i of the random-game stream (data::random_game(seed', i)), a prefix
// length uniform in [min_moves, min(max_moves, length - 1)], a cell uniform among occupied cells,
// target = the other colour (flip) or empty (erase); cases that get_ground_truth calls unusable
// (no legal move after the edit, an emptied centre square), or (require_change) whose edit does
// not change the legal set, are skipped; a case whose search ran
// out of budget goes to the unreachable set with proven = false; a set already full skips its
// cases. `attempts` (optional) receives how many candidates were drawn.
std::vector<EditCase> make_cases(CaseKind kind, const CaseOptions& opt, uint64_t* attempts = nullptr);

}  // namespace ogpt::interventions
