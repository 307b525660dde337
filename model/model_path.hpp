#pragma once
// What a `--model` argument names, everywhere a command takes one:
//   a checkpoint file                 -> that file
//   a training directory (`train --out DIR`) -> DIR/latest.ckpt, the run's latest checkpoint
//   a directory holding model.ckpt    -> DIR/model.ckpt (e.g. the shipped data/default/)
//   nothing (empty)                   -> the shipped default, `default_dir`/model.ckpt
// Anything else is a UserError saying what was looked for.
#include <memory>
#include <string>

#include "model/checkpoint.hpp"
#include "model/gpt.hpp"

namespace ogpt::model {

std::string resolve_model_path(const std::string& arg, const std::string& default_dir);

// resolve_model_path then load_checkpoint; *resolved (if given) receives the file used.
LoadedCheckpoint load_model(const std::string& arg, const std::string& default_dir,
                            std::string* resolved = nullptr);

// load_model, then a GPT planned for batches of up to max_batch with those weights.
std::unique_ptr<GPT> load_gpt(const std::string& arg, const std::string& default_dir, int max_batch,
                              Precision precision = Precision::f32, std::string* resolved = nullptr);

}  // namespace ogpt::model
