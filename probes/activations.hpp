#pragma once
// Activation extraction: runs games through the model and collects hook points into matrices,
// one column per position, with the position's game and move number (its labels are derived on
// demand from the games, so millions of positions do not carry 64-byte label arrays each).
//
// Position t of a game = the model's residual stream at token t = the board after move t, moves
// counted from 0 (data/labels.hpp), i.e. after t+1 moves. Positions t < min(game length, n_ctx)
// have a token, so they have a column.
#include <armadillo>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/game.hpp"
#include "model/gpt.hpp"
#include "probes/probe.hpp"

namespace ogpt::probes {

// Hook names from the papers' layer numbering: layer L = the residual stream after L blocks.
//   resid_post, L -> blocks.{L-1}.hook_resid_post (L = 0: blocks.0.hook_resid_pre, the embeddings)
//   resid_pre,  L -> blocks.{L}.hook_resid_pre    (L = n_layers: blocks.{L-1}.hook_resid_post)
//   resid_mid, attn_out, mlp_out, mlp_post (= mlp.hook_post), L >= 1 -> that hook of
//   blocks.{L-1}, the block that ends at layer L.
// A name with a '.' is taken as a full TransformerLens hook name (the layer is then ignored).
// Throws UserError if the model has no such hook or it is not [batch, position, features].
std::string hook_name(const std::string& hook, int layer, const model::Config& cfg);
// Width of a hook's last axis (d_model, or d_mlp for mlp.hook_pre/hook_post).
int hook_width(const std::string& full_name, const model::Config& cfg);
// The layer (depth) of a full hook name: blocks.{l}.hook_resid_pre -> l, other blocks.{l}.* ->
// l+1, hook_embed / hook_pos_embed -> 0, ln_final.* -> n_layers (needs cfg).
int hook_layer(const std::string& full_name, const model::Config& cfg);

// A window of the model's token positions 0..n_ctx-1 as a Python slice "A:B" (B excluded; "A:",
// ":B", a negative bound counting from n_ctx, and "all"): position t is the board after move t+1.
// "5:54" = "5:-5" is Nanda et al.'s probing window (their code trains on pos_start = 5 .. pos_end
// = n_ctx - 5): it leaves out the first five boards, which the embeddings alone nearly give, and
// the last five, where the few empty squares left say most of the next move and the model need
// not keep the whole board. Also an increasing list "t1,t2,..." or one position "t" (what
// positions_label writes for positions that are not one slice). Returns the kept positions (empty: all of them). Throws
// UserError(kUsage) naming `option` for a malformed, out-of-range (beyond n_ctx) or empty window.
std::vector<int> parse_positions(const std::string& s, int n_ctx, const char* option = "--positions");
// "all" (empty) or "A:B" for the kept positions (as parse_positions returns them; a list if not contiguous).
std::string positions_label(const std::vector<int>& moves);
// Whether token position t is among a probe's recorded positions (TrainInfo::positions): nullopt
// when it records none, or records positions this model (n_ctx) lacks. Outside them a reading
// is an extrapolation, which `probe show` and the explorer say.
std::optional<bool> in_positions(const std::string& recorded, int t, int n_ctx);

struct ExtractOptions {
  std::vector<std::string> hooks;  // full hook names
  int batch = 64;                  // games per forward
  model::Precision precision = model::Precision::bf16;
  std::vector<int> moves;          // keep only these move numbers t (empty: every position with a token)
  bool progress = false;
};

struct Activations {
  model::Config cfg;                    // of the model they came from
  std::vector<std::string> hooks;
  std::vector<arma::fmat> X;            // per hook [width x P]
  std::vector<data::Game> games;        // the games, in order
  std::vector<uint64_t> game_offset;    // [G+1] columns of game g are game_offset[g] .. game_offset[g+1]-1
  std::vector<uint8_t> move;            // [P] move number t of each column
  std::vector<int> window;              // the positions asked for (ExtractOptions::moves; empty: all)
  uint64_t positions() const { return move.size(); }
  const arma::fmat& at(const std::string& hook) const;  // throws UserError for a hook not extracted
};

// The column layout of extract_activations without running a model: game_offset [G+1] and the
// move number of each column, keeping positions t < min(game length, n_ctx) in `moves` (empty: all).
// Throws UserError(kUsage) when a window keeps no position of any game (extraction, the sweep
// and the tour all lay columns out here, so all refuse it alike).
void column_layout(const std::vector<data::Game>& games, int n_ctx, const std::vector<int>& moves,
                   std::vector<uint64_t>& game_offset, std::vector<uint8_t>& move);

// Runs `games` through a model with `params` (any shape) and collects opt.hooks.
Activations extract_activations(const model::ParamBlock& params, const std::vector<data::Game>& games,
                                const ExtractOptions& opt);

// Labels of every column in a basis: [P][64] classes (label_game per game).
std::vector<uint8_t> make_targets(const Activations& a, Target target);
std::vector<uint8_t> make_targets(const std::vector<data::Game>& games, const std::vector<uint64_t>& game_offset,
                                  const std::vector<uint8_t>& move, Target target);

// Train / validation / test split BY GAME (never by position): the first games train, the next
// validate, the last test (random games are i.i.d., so order is as good as a shuffle).
struct Split {
  uint64_t train_games = 0, val_games = 0, test_games = 0;
  uint64_t train_begin = 0, train_end = 0, val_begin = 0, val_end = 0, test_begin = 0, test_end = 0;  // columns
};
Split split_by_game(const std::vector<uint64_t>& game_offset, double val_fraction = 0.1, double test_fraction = 0.1);

}  // namespace ogpt::probes
