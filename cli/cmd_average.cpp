// othello-gpt average --model A --model B [--model C ...] [--weights wA,wB,...] --out FILE [--dtype f32|bf16]
// Averages the weights of models of one shape (model/average.hpp): the low-lr ends of the
// rewarm cycles of a run chain (stochastic weight averaging), to evaluate and perhaps ship.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "model/average.hpp"
#include "model/checkpoint.hpp"
#include "model/model_path.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {

struct Opts {
  std::vector<std::string> models;
  std::vector<double> weights;
  std::string out, dtype = "f32";
  bool json = false;
};

ogpt::cli::Command reg("average", "Average the weights of models of one shape (stochastic weight averaging of a run chain's cycle ends)",
                       [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--model", o->models,
                 "A model to average (checkpoint, run directory or model directory); give --model two or more times")
      ->required();
  sub.add_option("--weights", o->weights, "Weight of each model, in --model order, summing to 1 (default: equal)")
      ->delimiter(',');
  sub.add_option("--out", o->out, "Model checkpoint to write")->required();
  sub.add_option("--dtype", o->dtype, "Stored weight dtype")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  sub.add_flag("--json", o->json, "Print the summary as JSON");
  sub.footer(
      "Average only models of one lineage: points of one run (train --snapshot-every-games) or runs that continue "
      "each other (train --init-from); the average of unrelated models computes nothing. Evaluate the average "
      "before using it (eval --random N --seed S): on the shipped model's runs it matched an annealed end, "
      "not beat it (README, \"Weight averaging\").");
  return [o]() -> int {
    using namespace ogpt;
    if (o->models.size() < 2) throw UserError("average: give --model at least twice", kUsage);
    util::check_writable(o->out);  // before loading the models, not after
    if (o->weights.empty()) o->weights.assign(o->models.size(), 1.0 / double(o->models.size()));
    std::vector<model::LoadedCheckpoint> in;
    std::vector<std::string> paths;
    for (const std::string& m : o->models) {
      std::string path;
      in.push_back(model::load_model(m, cli::default_model_path(), &path));
      cli::require_not_input(o->out, path, "--out");
      paths.push_back(path);
    }
    std::vector<const model::ParamBlock*> blocks;
    for (auto& c : in) blocks.push_back(&c.params);
    model::ParamBlock avg = model::average_params(blocks, o->weights, paths);
    model::save_checkpoint(o->out, avg, o->dtype == "bf16" ? model::WeightDtype::bf16 : model::WeightDtype::f32);
    if (o->json) {
      nlohmann::json models = nlohmann::json::array();
      for (size_t i = 0; i < paths.size(); ++i) models.push_back({{"model", paths[i]}, {"weight", o->weights[i]}});
      nlohmann::json j = {{"models", models}, {"out", o->out}, {"dtype", o->dtype},
                          {"shape", avg.cfg.describe()}, {"parameters", model::param_count(avg.cfg)}};
      std::printf("%s\n", util::json_text(j, 1).c_str());
      return 0;
    }
    for (size_t i = 0; i < paths.size(); ++i) std::printf("%-9s %.4g x %s\n", i ? "" : "averaged", o->weights[i], paths[i].c_str());
    std::printf("wrote     %s (%s, %s)\nnext      othello-gpt eval --model %s --random 10000 --seed S\n", o->out.c_str(),
                avg.cfg.describe().c_str(), o->dtype.c_str(), o->out.c_str());
    return 0;
  };
});

}  // namespace
