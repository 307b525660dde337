#include "interventions/load.hpp"

#include <filesystem>

#include "model/checkpoint.hpp"
#include "util/error.hpp"

namespace ogpt::interventions {

namespace fs = std::filesystem;

namespace {
std::string resolve_model(const std::string& arg, const std::string& default_dir) {
  std::error_code ec;
  if (arg.empty()) {
    const std::string p = default_dir + "/model.ckpt";
    if (!fs::exists(p, ec)) throw IoError("no --model given and no shipped model at " + p);
    return p;
  }
  if (fs::is_directory(arg, ec)) {
    for (const char* name : {"latest.ckpt", "model.ckpt"}) {
      const std::string p = (fs::path(arg) / name).string();
      if (fs::exists(p, ec)) return p;
    }
    throw IoError(arg + ": a directory without latest.ckpt or model.ckpt");
  }
  if (!fs::exists(arg, ec)) throw IoError(arg + ": no such model file or directory");
  return arg;
}
}  // namespace

std::unique_ptr<model::GPT> load_gpt(const std::string& arg, const std::string& default_dir, int max_batch,
                                     std::string* resolved) {
  const std::string path = resolve_model(arg, default_dir);
  model::LoadedCheckpoint ck = model::load_checkpoint(path);
  auto gpt = std::make_unique<model::GPT>(ck.params.cfg, max_batch, model::Precision::f32);
  gpt->params = ck.params;
  gpt->mark_params_changed();
  if (resolved) *resolved = path;
  return gpt;
}

ProbeSet load_probes_arg(const std::string& arg, const std::string& default_dir, std::string* resolved) {
  const std::string path = arg.empty() ? default_dir + "/probes" : arg;
  std::error_code ec;
  if (arg.empty() && !fs::exists(path, ec)) throw IoError("no --probe given and no shipped probes at " + path);
  if (resolved) *resolved = path;
  return load_probe_set(path);
}

}  // namespace ogpt::interventions
