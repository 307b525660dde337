#include "model/model_path.hpp"

#include <filesystem>

#include "data/game.hpp"
#include "util/error.hpp"

namespace ogpt::model {

namespace fs = std::filesystem;

std::string resolve_model_path(const std::string& arg, const std::string& default_dir) {
  std::string dir = arg.empty() ? default_dir : arg;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (arg.empty())
      throw UserError("no --model given and no shipped default model in " + default_dir +
                          " (train one with `othello-gpt train --out DIR`, then pass --model DIR)",
                      kIo);
    throw IoError("--model " + arg + ": no such file or directory");
  }
  if (!fs::is_directory(dir, ec)) return dir;
  for (const char* name : {"latest.ckpt", "model.ckpt"}) {
    fs::path p = fs::path(dir) / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  throw IoError((arg.empty() ? "the shipped default " + default_dir : "--model " + arg) +
                ": a directory without latest.ckpt (a training run) or model.ckpt");
}

LoadedCheckpoint load_model(const std::string& arg, const std::string& default_dir, std::string* resolved) {
  std::string path = resolve_model_path(arg, default_dir);
  if (resolved) *resolved = path;
  LoadedCheckpoint ck = load_checkpoint(path);
  // The checkpoint format holds any shape (tests use tiny contexts); the commands that feed it
  // games need the token scheme's: 59 moves in, 61 tokens.
  const Config& c = ck.params.cfg;
  if (c.n_ctx != data::kContext || c.d_vocab != Config{}.d_vocab)
    throw UserError(path + ": a model with context " + std::to_string(c.n_ctx) + " and vocabulary " +
                    std::to_string(c.d_vocab) + "; Othello-GPT games need context " + std::to_string(data::kContext) +
                    " and vocabulary " + std::to_string(Config{}.d_vocab));
  return ck;
}

std::unique_ptr<GPT> load_gpt(const std::string& arg, const std::string& default_dir, int max_batch,
                              Precision precision, std::string* resolved) {
  LoadedCheckpoint ck = load_model(arg, default_dir, resolved);
  auto gpt = std::make_unique<GPT>(ck.params.cfg, max_batch, precision);
  gpt->params = ck.params;
  gpt->mark_params_changed();
  return gpt;
}

}  // namespace ogpt::model
