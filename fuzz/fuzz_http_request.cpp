// Fuzzes the explorer's request handler (explorer/explorer.hpp: handle_request), the code behind
// every byte `othello-gpt serve` receives. Input: "METHOD PATH\n" then the body (no newline: the
// whole input is a POST body to a path chosen by its first byte). The model is tiny and random,
// with probes of every kind the handler serves, so that valid requests reach the model, the
// probes and the intervention code.
// Properties: the status is never 500 (a bug), the body is a JSON object, and an error is a
// one-line message of printable ASCII.
#include <nlohmann/json.hpp>

#include "explorer/explorer.hpp"
#include "fuzz/fuzz_common.hpp"
#include "model/config.hpp"

namespace {

ogpt::explorer::Explorer& get_explorer() {
  using namespace ogpt;
  static auto ex = [] {
    model::Config cfg;
    cfg.n_layers = 2, cfg.d_model = 16, cfg.n_heads = 2, cfg.d_head = 8, cfg.d_mlp = 32;
    auto gpt = std::make_unique<model::GPT>(cfg, 1, model::Precision::f32);
    model::init_params(gpt->params, 1);
    gpt->mark_params_changed();
    std::vector<explorer::LoadedProbe> ps;
    int seed = 1;
    for (int layer = 1; layer <= 2; ++layer)
      for (auto kind : {probes::Kind::linear, probes::Kind::mlp})
        for (auto t : {probes::Target::mine_theirs, probes::Target::black_white, probes::Target::legal}) {
          probes::Probe p = probes::make_probe(kind, t, cfg.d_model, 8, seed++);
          p.layer = layer;
          p.hook = "blocks." + std::to_string(layer - 1) + ".hook_resid_post";
          ps.push_back({"fuzz.probe", p});
        }
    return explorer::make_explorer(std::move(gpt), std::move(ps));
  }();
  return *ex;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view method = "POST", path, body;
  const size_t nl = in.find('\n');
  const size_t sp = in.find(' ');
  if (nl != std::string_view::npos && sp < nl) {
    method = in.substr(0, sp);
    path = in.substr(sp + 1, nl - sp - 1);
    body = in.substr(nl + 1);
  } else {
    static const char* paths[] = {"/api/state", "/api/probe", "/api/intervene", "/api/info", "/"};
    path = size ? paths[data[0] % 5] : "/api/state";
    body = size ? in.substr(1) : in;
    if (path == "/api/info" || path == "/") method = "GET";
  }
  const explorer::Response r = explorer::handle_request(get_explorer(), method, path, body);
  fuzz::check(r.status != 500, "a request made the handler fail (500)");
  fuzz::check(r.status >= 200 && r.status < 500, "status outside 2xx-4xx");
  if (r.content_type.rfind("application/json", 0) == 0) {
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    fuzz::check(j.is_object(), "the answer is not a JSON object");
    if (r.status != 200) {
      fuzz::check(j.contains("error") && j["error"].is_string(), "an error answer without an \"error\" string");
      for (unsigned char c : j["error"].get<std::string>()) fuzz::check(c >= 0x20 && c < 0x7f, "error message not printable ASCII");
    }
  }
  return 0;
}
