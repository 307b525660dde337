#pragma once
// The shape of an Othello-GPT. Names follow TransformerLens (d_model, d_head, d_mlp, n_ctx, ...).
#include <string>
#include <vector>

#include "util/cereal_bounded.hpp"  // load_bool

namespace ogpt::model {

struct Config {
  int n_layers = 8;
  int d_model = 512;
  int n_heads = 8;
  int d_head = 64;
  int d_mlp = 2048;
  int d_vocab = 61;  // 0 = padding, 1..60 = the 60 non-centre squares
  int n_ctx = 59;    // the model sees the first 59 moves and predicts the next
  bool has_ln_weights = true;  // false for a TransformerLens checkpoint with LN folded (LNPre)
  bool has_unembed_bias = true;

  bool operator==(const Config&) const = default;
  std::string describe() const;  // "8x512 (8 layers, d_model 512, 8 heads x 64, d_mlp 2048)"
  // Every size positive and within what a real model could have: checked on a shape a file
  // claims (checkpoint, state dict) before anything is allocated from it.
  bool plausible() const;

  template <class Archive>
  void save(Archive& ar) const {
    ar(n_layers, d_model, n_heads, d_head, d_mlp, d_vocab, n_ctx, has_ln_weights, has_unembed_bias);
  }
  template <class Archive>
  void load(Archive& ar) {  // the same bytes; a flag byte other than 0/1 is refused
    ar(n_layers, d_model, n_heads, d_head, d_mlp, d_vocab, n_ctx);
    util::load_bool(ar, has_ln_weights, "the LayerNorm-weights flag");
    util::load_bool(ar, has_unembed_bias, "the unembed-bias flag");
  }
};

// Presets: "8x512" is the paper's model; smaller ones for fast experiments and tests.
// Throws UserError listing the known names for an unknown one.
Config preset(const std::string& name);
std::vector<std::string> preset_names();

}  // namespace ogpt::model
