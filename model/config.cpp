#include "model/config.hpp"

#include <map>

#include "util/error.hpp"

namespace ogpt::model {

namespace {
Config make(int layers, int d, int heads, int mlp) {
  Config c;
  c.n_layers = layers;
  c.d_model = d;
  c.n_heads = heads;
  c.d_head = d / heads;
  c.d_mlp = mlp;
  return c;
}
const std::map<std::string, Config>& presets() {
  static const std::map<std::string, Config> m = {
      {"8x512", make(8, 512, 8, 2048)},  // Li et al. 2023
      {"8x384", make(8, 384, 8, 1536)},
      {"8x256", make(8, 256, 8, 1024)},
      {"6x256", make(6, 256, 8, 1024)},
      {"4x256", make(4, 256, 8, 1024)},
      {"4x128", make(4, 128, 4, 512)},
      {"2x64", make(2, 64, 4, 256)},     // tests
  };
  return m;
}
}  // namespace

Config preset(const std::string& name) {
  auto it = presets().find(name);
  if (it == presets().end()) {
    std::string known;
    for (auto& [k, v] : presets()) known += (known.empty() ? "" : ", ") + k;
    throw UserError("unknown preset '" + name + "' (known: " + known + ")", kUsage);
  }
  return it->second;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> v;
  for (auto& [k, c] : presets()) v.push_back(k);
  return v;
}

std::string Config::describe() const {
  return std::to_string(n_layers) + "x" + std::to_string(d_model) + " (" +
         std::to_string(n_layers) + " layers, d_model " + std::to_string(d_model) + ", " +
         std::to_string(n_heads) + " heads x " + std::to_string(d_head) + ", d_mlp " +
         std::to_string(d_mlp) + ")";
}

bool Config::plausible() const {
  const auto ok = [](int x, int max) { return x > 0 && x <= max; };
  return ok(n_layers, 1024) && ok(d_model, 1 << 16) && ok(n_heads, 1024) && ok(d_head, 1 << 16) &&
         ok(d_mlp, 1 << 18) && ok(d_vocab, 1 << 20) && ok(n_ctx, 1 << 20);
}

}  // namespace ogpt::model
