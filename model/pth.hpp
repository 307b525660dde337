#pragma once
// PyTorch .pth / .pt reader with no Python: the zip archive torch.save writes (torch >= 1.6) holding
// <dir>/data.pkl (a pickle of the object) and <dir>/data/<key> (one raw little-endian storage each).
//
// SAFETY: unlike torch.load, importing never executes code. data.pkl is read by a small
// interpreter for the pickle subset that state dicts use (dicts, lists, tuples, strings, numbers,
// memo, persistent storage ids) and only these globals:
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
//   torch.{Float,Double,Half,BFloat16,Bool,Byte,Char,Short,Int,Long}Storage.
// Any other opcode or global (os.system, a pickled nn.Module, numpy objects, ...) is refused with
// a UserError naming the file, the byte offset in data.pkl and the offending name.
//
// Tensors may be views: storage offsets and arbitrary strides are honoured, and several tensors
// may share one storage. Every tensor is converted to f32. A checkpoint that nests its state dict
// under "state_dict", "model_state_dict", "model" or "module" is unwrapped.
#include <map>
#include <string>
#include <string_view>

#include "model/gpt.hpp"  // Tensor

namespace ogpt::model {

struct PthFile {
  std::map<std::string, Tensor> tensors;      // converted to f32, contiguous row-major
  std::map<std::string, std::string> dtypes;  // stored dtype, safetensors names ("F16", "BOOL", ...)
  std::string nested_under;                   // "" or the key the state dict was found under
};

// `bytes` is a whole file; `what` names it in error messages.
PthFile parse_pth(std::string_view bytes, const std::string& what);
PthFile load_pth(const std::string& path);

}  // namespace ogpt::model
