#pragma once
// One parameter block with named views (llm.c style), in TransformerLens names and shapes.
// The same struct holds parameters and gradients (and AdamW's moments): each is one contiguous
// float block laid out by param_specs(), and Weights gives typed pointers into it.
//
// Order and shapes (d = d_model, h = n_heads, dh = d_head, dm = d_mlp, V = d_vocab, T = n_ctx):
//   embed.W_E [V,d]  pos_embed.W_pos [T,d]
//   per block l:  blocks.l.ln1.w [d]  blocks.l.ln1.b [d]
//                 blocks.l.attn.W_Q [h,d,dh]  W_K [h,d,dh]  W_V [h,d,dh]
//                 blocks.l.attn.b_Q [h,dh]    b_K [h,dh]    b_V [h,dh]
//                 blocks.l.attn.W_O [h,dh,d]  blocks.l.attn.b_O [d]
//                 blocks.l.ln2.w [d]  blocks.l.ln2.b [d]
//                 blocks.l.mlp.W_in [d,dm]  b_in [dm]  W_out [dm,d]  b_out [d]
//   ln_final.w [d]  ln_final.b [d]  unembed.W_U [d,V]  unembed.b_U [V]
// LayerNorm weights are absent when !cfg.has_ln_weights; b_U is absent when !cfg.has_unembed_bias.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.hpp"

namespace ogpt::model {

struct ParamSpec {
  std::string name;            // TransformerLens name, e.g. "blocks.3.attn.W_Q"
  std::vector<int64_t> shape;  // TransformerLens shape, row-major
  size_t offset = 0;           // in floats, into the block
  size_t numel = 0;
  bool decay = false;          // AdamW weight decay applies (matrices and embeddings only)
};

std::vector<ParamSpec> param_specs(const Config& cfg);
size_t param_count(const Config& cfg);
// Finds a spec by TransformerLens name; nullptr if the config has no such parameter.
const ParamSpec* find_spec(const std::vector<ParamSpec>& specs, const std::string& name);

struct BlockWeights {
  float *ln1_w = nullptr, *ln1_b = nullptr;
  float *W_Q, *W_K, *W_V, *b_Q, *b_K, *b_V, *W_O, *b_O;
  float *ln2_w = nullptr, *ln2_b = nullptr;
  float *W_in, *b_in, *W_out, *b_out;
};

struct Weights {
  float *W_E, *W_pos;
  std::vector<BlockWeights> blocks;
  float *ln_final_w = nullptr, *ln_final_b = nullptr;
  float *W_U, *b_U = nullptr;
};

// Typed views into a block laid out by param_specs(cfg).
Weights make_views(const Config& cfg, float* base);

// A block that owns its floats (64-byte aligned) with views into it.
struct ParamBlock {
  Config cfg;
  std::vector<ParamSpec> specs;
  std::vector<float, std::allocator<float>> data;  // size == param_count(cfg)
  Weights w;

  ParamBlock() = default;
  explicit ParamBlock(const Config& c);
  ParamBlock(const ParamBlock& o);
  ParamBlock& operator=(const ParamBlock& o);
  float* get(const std::string& name);  // throws UserError for an unknown name
  const float* get(const std::string& name) const;
  void zero();
};

// GPT-2 style initialisation (normal 0.02, LN w = 1, biases 0; residual projections W_O and
// W_out scaled by 1/sqrt(2*n_layers)), deterministic for the seed.
void init_params(ParamBlock& p, uint64_t seed);

}  // namespace ogpt::model
