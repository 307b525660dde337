#include "interventions/cases.hpp"

#include <algorithm>
#include <bit>
#include <unordered_set>

#include "data/game.hpp"
#include "othello/game_record.hpp"
#include "util/error.hpp"

namespace ogpt::interventions {

using othello::Bitboard;
using othello::Board;
using othello::square_bit;

const char* cell_state_name(CellState s) {
  return s == CellState::empty ? "empty" : s == CellState::mine ? "mine" : "theirs";
}

CellState parse_cell_state(const std::string& s) {
  if (s == "empty") return CellState::empty;
  if (s == "mine") return CellState::mine;
  if (s == "theirs") return CellState::theirs;
  throw UserError("unknown cell state '" + s + "' (choose mine, theirs or empty)", kUsage);
}

const char* case_kind_name(CaseKind k) { return k == CaseKind::flip ? "flip" : "erase"; }
const char* case_set_name(CaseSet s) { return s == CaseSet::reachable ? "reachable" : "unreachable"; }

CellState get_cell_state(const Board& b, int cell) {
  if (b.player >> cell & 1) return CellState::mine;
  if (b.opponent >> cell & 1) return CellState::theirs;
  return CellState::empty;
}

Board edit_board(const Board& b, int cell, CellState target) {
  Board e = b;
  Bitboard bit = square_bit(cell);
  e.player &= ~bit;
  e.opponent &= ~bit;
  if (target == CellState::mine) e.player |= bit;
  if (target == CellState::theirs) e.opponent |= bit;
  return e;
}

Board board_after(const std::vector<int>& moves) { return othello::replay(moves).back(); }

GroundTruth get_ground_truth(const std::vector<int>& moves, int cell, CellState target) {
  GroundTruth g;
  const std::vector<Board> boards = othello::replay(moves);
  g.before = boards.back();
  g.after = edit_board(g.before, cell, target);
  // The prefix ends in a forced pass when its last mover is to move again.
  const bool ends_in_pass = boards.size() >= 2 && boards[boards.size() - 2].to_move == g.before.to_move;
  g.legal_before = othello::get_moves(g.before);
  g.legal_after = othello::get_moves(g.after);
  if (g.legal_before == 0) {
    g.usable = false;
    g.why_not = "the game is over after the prefix";
  } else if (target == CellState::empty && othello::is_centre(cell)) {
    // Occupied from the start, a centre square is empty in no game: no probe has seen it empty
    // (its "empty" direction there is fitted to no example), and the model has no token to play
    // it. Measured on the shipped model, erasing one wrecked the prediction (11.5 errors a case).
    g.usable = false;
    g.why_not = othello::square_name(cell) +
                " is a centre square: it is never empty in a game, so no probe has learned an empty centre and "
                "the model has no move token for it";
  } else if (g.legal_after == 0) {
    g.usable = false;
    g.why_not = "the edited board leaves " + std::string(othello::color_name(g.after.to_move)) +
                " without a legal move";
  } else if (ends_in_pass && othello::get_moves(othello::board_pass(g.after)) != 0) {
    // The player who passed can move on the edited board, so by the rules it moves next, not the
    // side the prefix left to move: the legal set to score against would be the other player's,
    // and the model was shown a game in which that player had no move. Like an edit that leaves
    // the side to move without a move, the side to move would change: not a test of this edit.
    const char* passer = othello::color_name(othello::board_pass(g.after).to_move);
    g.usable = false;
    g.why_not = std::string("the prefix ends in a pass by ") + passer + ", and the edited board gives " + passer +
                " a legal move: " + passer + " would move next";
  }
  return g;
}

// ---- metric ------------------------------------------------------------------------------------

Bitboard top_n_squares(const float* probs, int n) {
  int order[64];
  int m = 0;
  for (int sq = 0; sq < 64; ++sq)
    if (!othello::is_centre(sq)) order[m++] = sq;
  // Stable sort keeps the lower square first among equal probabilities.
  std::stable_sort(order, order + m, [&](int a, int b) { return probs[a] > probs[b]; });
  Bitboard set = 0;
  for (int i = 0; i < std::min(n, m); ++i) set |= square_bit(order[i]);
  return set;
}

int count_errors(Bitboard predicted, Bitboard legal) {
  return std::popcount(predicted & ~legal) + std::popcount(legal & ~predicted);
}

int top_n_errors(const float* probs, Bitboard legal) {
  return count_errors(top_n_squares(probs, std::popcount(legal)), legal);
}

// ---- reachability ------------------------------------------------------------------------------

namespace {

constexpr Bitboard kCorners = (1ull << 0) | (1ull << 7) | (1ull << 56) | (1ull << 63);

struct Key {
  Bitboard black, white;
  bool black_to_move;
  bool operator==(const Key&) const = default;
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = k.black * 0x9e3779b97f4a7c15ull ^ (k.white + 0x632be59bd9b4e019ull + k.black_to_move) * 0xc2b2ae3d27d4eb4full;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

struct Search {
  Bitboard black, white, occupied;
  uint64_t nodes = 0, max_nodes = 0;
  bool out_of_budget = false;
  std::unordered_set<Key, KeyHash> visited;
  std::vector<int> path;
  const std::vector<int>* guide = nullptr;  // a game to try first at each depth (may be null)

  // True when a continuation of `b` reaches the target discs.
  bool dfs(Board b) {
    if (++nodes > max_nodes) {
      out_of_budget = true;
      return false;
    }
    Bitboard occ = b.player | b.opponent;
    if (occ == occupied) return b.black() == black && b.white() == white;
    // A corner disc never flips: a wrong colour there can never be repaired.
    if ((b.black() & kCorners & ~black) || (b.white() & kCorners & ~white)) return false;
    // The discs and the side to move are the whole state (what follows depends on nothing else),
    // so a state seen before has been searched. The side to move matters only after a pass, which
    // is rare, but without it a pruned branch could make an exhausted search's "unreachable" (a
    // proof: `proven` in the bench) wrong.
    if (!visited.insert(Key{b.black(), b.white(), b.to_move == othello::Color::black}).second) return false;
    Bitboard legal = othello::get_moves(b);
    if (legal == 0) {
      b = othello::board_pass(b);
      legal = othello::get_moves(b);
      if (legal == 0) return false;  // game over before the target
    }
    Bitboard moves = legal & occupied;
    if (moves == 0) return false;  // every legal move lands outside the target's discs
    // Squares where the target holds the mover's colour first: the disc placed there keeps its
    // colour unless flipped later, so these lead to the target more often.
    Bitboard mover_target = b.to_move == othello::Color::black ? black : white;
    // The guide's move at this depth first: a witness for a one-cell edit of a game's position
    // usually shares most of that game's move order, so the search starts next to it.
    Bitboard first = 0;
    size_t depth = path.size();
    if (guide && depth < guide->size() && (moves >> (*guide)[depth] & 1)) first = square_bit((*guide)[depth]);
    moves &= ~first;
    for (Bitboard part : {first, moves & mover_target, moves & ~mover_target}) {
      for (int sq : othello::squares_of(part)) {
        path.push_back(sq);
        if (dfs(othello::board_next(b, sq))) return true;
        path.pop_back();
        if (out_of_budget) return false;
      }
    }
    return false;
  }
};

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

Reach classify_reachability(const Board& target, uint64_t max_nodes, std::vector<int>* witness,
                            const std::vector<int>* guide) {
  Board start = othello::board_start();
  Bitboard occ = target.player | target.opponent;
  Bitboard centre = (start.player | start.opponent);
  if ((occ & centre) != centre) return Reach::unreachable;  // the centre is never emptied
  Search s;
  s.black = target.black();
  s.white = target.white();
  s.occupied = occ;
  s.max_nodes = max_nodes;
  s.guide = guide;
  bool found = s.dfs(start);
  if (found) {
    if (witness) *witness = s.path;
    return Reach::reachable;
  }
  return s.out_of_budget ? Reach::unknown : Reach::unreachable;
}

// ---- benchmark case sets -----------------------------------------------------------------------

std::vector<EditCase> make_cases(CaseKind kind, const CaseOptions& opt, uint64_t* attempts) {
  if (opt.per_set < 0 || opt.min_moves < 1 || opt.max_moves > data::kContext || opt.min_moves > opt.max_moves)
    throw UserError("bad case options: need per_set >= 0 and 1 <= min_moves <= max_moves <= 59", kUsage);
  const uint64_t stream = mix(opt.seed ^ (kind == CaseKind::flip ? 0x11ull : 0x22ull));
  std::vector<EditCase> sets[2];
  uint64_t i = 0;
  const uint64_t limit = 10000ull * static_cast<uint64_t>(opt.per_set + 1) + 100000ull;
  while ((int)sets[0].size() < opt.per_set || (int)sets[1].size() < opt.per_set) {
    if (i >= limit)
      throw UserError("could not find " + std::to_string(opt.per_set) + " " + case_kind_name(kind) +
                          " cases per set in " + std::to_string(limit) + " games: " + std::to_string(sets[0].size()) +
                          " reachable, " + std::to_string(sets[1].size()) +
                          " unreachable (a reachable board needs a search budget, --max-nodes, of some thousands)",
                      kUsage);
    const uint64_t r = mix(stream + 0x5851f42d4c957f2dull * (i + 1));
    data::Game g = data::random_game(stream, i++);
    int hi = std::min<int>(opt.max_moves, g.length - 1);
    if (hi < opt.min_moves) continue;
    int n = opt.min_moves + static_cast<int>(r % static_cast<uint64_t>(hi - opt.min_moves + 1));
    std::vector<int> moves(g.moves.begin(), g.moves.begin() + n);
    Board b = board_after(moves);
    Bitboard occ = b.player | b.opponent;
    int k = static_cast<int>((r >> 32) % static_cast<uint64_t>(std::popcount(occ)));
    int cell = -1;
    for (int sq : othello::squares_of(occ))
      if (k-- == 0) cell = sq;
    CellState now = get_cell_state(b, cell);
    CellState target = kind == CaseKind::erase ? CellState::empty
                       : now == CellState::mine ? CellState::theirs
                                                : CellState::mine;
    GroundTruth gt = get_ground_truth(moves, cell, target);
    if (!gt.usable) continue;
    if (opt.require_change && gt.legal_after == gt.legal_before) continue;
    Reach reach = classify_reachability(gt.after, opt.max_nodes, nullptr, &moves);
    CaseSet set = reach == Reach::reachable ? CaseSet::reachable : CaseSet::unreachable;
    auto& dst = sets[static_cast<int>(set)];
    if ((int)dst.size() >= opt.per_set) continue;
    dst.push_back(EditCase{std::move(moves), cell, target, kind, set, reach != Reach::unknown});
  }
  if (attempts) *attempts = i;
  std::vector<EditCase> out = std::move(sets[0]);
  out.insert(out.end(), sets[1].begin(), sets[1].end());
  return out;
}

}  // namespace ogpt::interventions
