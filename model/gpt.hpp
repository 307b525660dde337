#pragma once
// Othello-GPT: forward (with TransformerLens hook points), backward, on oneDNN.
//
// Legend: B = batch (games), T = n_ctx positions (59), d = d_model, h = n_heads, dh = d_head,
// dm = d_mlp, V = d_vocab (61).
//
// Hook names and the layouts a hook sees (TransformerLens names and layouts):
//   hook_embed, hook_pos_embed                     [B,T,d]
//   blocks.{l}.hook_resid_pre | hook_resid_mid | hook_resid_post       [B,T,d]
//   blocks.{l}.ln1.hook_scale, ln2.hook_scale      [B,T,1]
//   blocks.{l}.ln1.hook_normalized, ln2.hook_normalized               [B,T,d]
//   blocks.{l}.attn.hook_q | hook_k | hook_v | hook_z                  [B,T,h,dh]
//   blocks.{l}.attn.hook_attn_scores | hook_pattern                    [B,h,T,T] (scores masked: -inf)
//   blocks.{l}.hook_attn_out, hook_mlp_out         [B,T,d]
//   blocks.{l}.mlp.hook_pre | hook_post            [B,T,dm]
//   ln_final.hook_scale [B,T,1], ln_final.hook_normalized [B,T,d]
// An edit hook may overwrite its activation in place (any positions); everything downstream of
// that hook point sees the edited values.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/params.hpp"

namespace ogpt::model {

enum class Precision { f32, bf16 };  // bf16 = bf16 matmul inputs, f32 accumulation and master weights

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct TensorView {
  float* data;
  std::vector<int64_t> shape;
};

struct Hooks {
  std::set<std::string> cache_names;            // hook names to copy out during forward
  std::map<std::string, Tensor> cache;          // filled by forward (first B rows only)
  std::map<std::string, std::function<void(TensorView)>> edits;  // called in forward, may modify
};

// Every hook name the model has, in forward order.
std::vector<std::string> hook_names(const Config& cfg);

class GPT {
 public:
  // Plans every oneDNN primitive for batches of up to max_batch games once, here. bf16 falls
  // back to f32 on a CPU without bf16 matmuls (bf16_matmul_supported()); precision() tells.
  GPT(const Config& cfg, int max_batch, Precision precision);
  ~GPT();
  GPT(const GPT&) = delete;
  GPT& operator=(const GPT&) = delete;

  ParamBlock params;  // f32 master weights, TransformerLens layout
  ParamBlock grads;   // same layout as params

  const Config& cfg() const { return params.cfg; }
  int max_batch() const;

  // Bytes of the buffers a GPT planned for max_batch games holds once it has trained a step:
  // activations kept for backward, backward scratch, the matmul copies of the weights (not
  // params, grads or optimizer state). `train` checks it against the machine's memory before a
  // --batch too large for it is killed by the kernel minutes in. Exact: a test compares it
  // with allocated_bytes() after a step.
  static int64_t training_bytes(const Config& cfg, int max_batch, Precision precision);
  int64_t allocated_bytes() const;  // what the buffers hold now
  Precision precision() const;

  // tokens, targets: [B,T] token ids (0 = padding). With targets, returns the mean
  // cross-entropy over positions whose target != 0 and keeps what backward() needs;
  // with targets == nullptr returns 0. B <= max_batch.
  // target_sets [B,T] (optional, with targets): the loss at a counted position is the
  // cross-entropy to the uniform distribution over the set's tokens (bit v = token v), e.g. the
  // legal next moves — the expected one-hot target of a random game (ops::crossentropy_forward).
  float forward(const uint8_t* tokens, const uint8_t* targets, int B, Hooks* hooks = nullptr,
                const uint64_t* target_sets = nullptr);
  const float* logits() const;  // [B,T,V] of the last forward
  void backward();              // grads += dloss/dparams for the last forward with targets
  void zero_grad();
  void mark_params_changed();   // master weights changed (optimizer step, load): re-derive copies

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ogpt::model
