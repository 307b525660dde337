#pragma once
// Loading what the intervention commands need: the model named by --model and the probes named
// by --probe (a probe file, or a directory of *.probe files, one per layer).
#include <memory>
#include <string>

#include "interventions/intervene.hpp"
#include "model/gpt.hpp"

namespace ogpt::interventions {

// --model as everywhere (model/model_path.hpp), with an f32 forward: edits are small numeric
// changes and bf16 rounding of the edited activations would blur them.
std::unique_ptr<model::GPT> load_gpt(const std::string& arg, const std::string& default_dir, int max_batch,
                                     std::string* resolved = nullptr);
// --probe: empty = default_dir/probes (the shipped probes).
ProbeSet load_probes_arg(const std::string& arg, const std::string& default_dir, std::string* resolved = nullptr);

}  // namespace ogpt::interventions
