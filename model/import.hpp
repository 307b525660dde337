#pragma once
// Weight import: a state dict (name -> tensor) from .pth or .safetensors -> ParamBlock.
//
// Layouts understood:
//  * TransformerLens (our own names and shapes, see model/params.hpp), with LayerNorm weights or
//    folded (LNPre, e.g. NeelNanda/Othello-GPT-Transformer-Lens synthetic_model.pth: 8x512,
//    d_vocab 61 and d_vocab_out 61, no ln weights). The Config is inferred from the shapes.
//    Older TransformerLens files with W_Q/W_K/W_V as [h, d_head, d_model] and W_O as
//    [h, d_model, d_head] are transposed on the fly.
//  * minGPT as used by Li et al. (tok_emb.weight, pos_emb, blocks.N.attn.query.weight, ...,
//    head.weight without bias): converted the way TransformerLens's convert_mingpt_weights does.
//    minGPT fuses the heads, so n_heads cannot be read from the shapes: ImportOptions::n_heads.
// Buffers that state dicts carry (attn.mask, attn.IGNORE, rotary tables) are skipped; a
// "module." prefix (DataParallel) is stripped. A missing or mis-shaped tensor, an unexpected
// key, or a non-finite value is refused with a UserError naming the key and the expected shape.
#include <map>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/gpt.hpp"  // Tensor
#include "model/params.hpp"

namespace ogpt::model {

using StateDict = std::map<std::string, Tensor>;

struct ImportOptions {
  int n_heads = 8;  // used only for minGPT files (Li et al.: 8)
};

struct ImportInfo {
  std::string layout;                          // "TransformerLens" or "minGPT"
  std::string format;                          // "pth" or "safetensors"
  std::string nested_under;                    // .pth only: "state_dict", "model", ... or ""
  std::vector<std::string> skipped;            // buffers that were ignored
  std::map<std::string, int> stored_dtypes;    // dtype -> number of tensors, as stored
  std::string extra;                           // our own checkpoints: their extra blob (a run's TrainState)
};

// Reads a .pth or .safetensors file (decided by its first bytes, not its name).
StateDict read_state_dict(const std::string& path, ImportInfo* info = nullptr);

// Infers the Config from a TransformerLens-layout state dict's shapes.
Config infer_config(const StateDict& sd, const std::string& what);

// Maps a state dict onto a ParamBlock; `what` names the source in errors.
ParamBlock import_state_dict(const StateDict& sd, const std::string& what,
                             const ImportOptions& opt = {}, ImportInfo* info = nullptr);

// read_state_dict + import_state_dict.
ParamBlock import_model_file(const std::string& path, const ImportOptions& opt = {},
                             ImportInfo* info = nullptr);

std::string shape_string(const std::vector<int64_t>& shape);  // "[4,64,16]"

}  // namespace ogpt::model
