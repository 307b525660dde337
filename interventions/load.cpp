#include "interventions/load.hpp"

#include <filesystem>

#include "model/model_path.hpp"
#include "util/error.hpp"

namespace ogpt::interventions {

namespace fs = std::filesystem;

std::unique_ptr<model::GPT> load_gpt(const std::string& arg, const std::string& default_dir, int max_batch,
                                     std::string* resolved) {
  return model::load_gpt(arg, default_dir, max_batch, model::Precision::f32, resolved);
}

ProbeSet load_probes_arg(const std::string& arg, const std::string& default_dir, std::string* resolved) {
  const std::string path = arg.empty() ? default_dir + "/probes" : arg;
  std::error_code ec;
  if (arg.empty() && !fs::exists(path, ec)) throw IoError("no --probe given and no shipped probes at " + path);
  if (resolved) *resolved = path;
  return load_probe_set(path);
}

}  // namespace ogpt::interventions
