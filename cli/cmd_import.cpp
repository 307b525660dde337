// othello-gpt import --from FILE(.pth|.safetensors|.ckpt) --out MODEL [--dtype f32|bf16] [--n-heads N]
// Converts a TransformerLens (or minGPT / Li et al.) state dict into the project's checkpoint.
// .pth files are read by a pickle subset that never runs code (see model/pth.hpp).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "model/checkpoint.hpp"
#include "model/import.hpp"
#include "model/train_state.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {
struct Opts {
  std::string from, out, dtype = "f32";
  int n_heads = 8;
  bool json = false;
};

ogpt::cli::Command reg("import", "Convert a .pth or .safetensors state dict (or a training checkpoint) into a model checkpoint",
                       [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--from", o->from, "TransformerLens or minGPT state dict (.pth or .safetensors), or this "
                 "project's checkpoint (e.g. a run's latest.ckpt: the optimizer state is dropped)")
      ->required();
  sub.add_option("--out", o->out, "Model checkpoint to write")->required();
  sub.add_option("--dtype", o->dtype, "Stored weight dtype")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  sub.add_option("--n-heads", o->n_heads, "Heads per layer, for minGPT files only (fused heads)")
      ->capture_default_str();
  sub.add_flag("--json", o->json, "Print the summary as JSON");
  return [o]() -> int {
    using namespace ogpt::model;
    // A training checkpoint imported onto itself would lose its optimizer state (the run's resume).
    ogpt::cli::require_not_input(o->out, o->from, "--out");
    ImportInfo info;
    ImportOptions opt;
    opt.n_heads = o->n_heads;
    ParamBlock p = import_model_file(o->from, opt, &info);
    save_checkpoint(o->out, p, o->dtype == "bf16" ? WeightDtype::bf16 : WeightDtype::f32);
    const auto& c = p.cfg;
    if (o->json) {
      nlohmann::json j = {{"from", o->from}, {"out", o->out}, {"format", info.format},
                          {"layout", info.layout}, {"nested_under", info.nested_under},
                          {"config", {{"n_layers", c.n_layers}, {"d_model", c.d_model},
                                      {"n_heads", c.n_heads}, {"d_head", c.d_head},
                                      {"d_mlp", c.d_mlp}, {"d_vocab", c.d_vocab},
                                      {"n_ctx", c.n_ctx}, {"has_ln_weights", c.has_ln_weights},
                                      {"has_unembed_bias", c.has_unembed_bias}}},
                          {"parameters", param_count(c)}, {"stored_dtypes", info.stored_dtypes},
                          {"skipped_buffers", info.skipped}, {"dtype", o->dtype}};
      if (info.extra.rfind("OGPTTRST", 0) == 0) {  // a training checkpoint: what run made these weights
        TrainState st = decode_train_state(info.extra, o->from);
        const RunConfig& r = st.run;
        j["run"] = {{"preset", r.preset}, {"batch", r.batch}, {"seed", r.seed}, {"val_seed", r.val_seed},
                    {"target", r.legal_target ? "legal" : "next-move"}, {"precision", r.bf16 ? "bf16" : "f32"},
                    {"optimizer", optimizer_name(r.optimizer)},
                    {"games_file", r.games_file}, {"total_games", r.total_games}, {"lr", r.schedule.lr},
                    {"warmup_steps", r.schedule.warmup_steps}, {"lr_floor", r.schedule.floor_frac},
                    {"decay_games", r.decay_games},
                    {"step", st.step}, {"games_seen", st.games_seen}, {"wall_hours", st.wall_s / 3600},
                    {"threads", st.threads}};
      }
      std::printf("%s\n", ogpt::util::json_text(j, 1).c_str());
      return 0;
    }
    std::string dtypes;
    for (auto& [d, n] : info.stored_dtypes) dtypes += (dtypes.empty() ? "" : ", ") + std::to_string(n) + " " + d;
    std::printf("read      %s (%s, %s layout%s; tensors: %s)\n", o->from.c_str(), info.format.c_str(),
                info.layout.c_str(),
                info.nested_under.empty() ? "" : (", under '" + info.nested_under + "'").c_str(),
                dtypes.c_str());
    std::printf("model     %s, d_vocab %d, n_ctx %d%s%s\n", c.describe().c_str(), c.d_vocab, c.n_ctx,
                c.has_ln_weights ? "" : ", LayerNorm folded (LNPre)",
                c.has_unembed_bias ? "" : ", no unembed bias");
    std::printf("params    %zu\n", param_count(c));
    std::printf("skipped   %zu buffers%s\n", info.skipped.size(),
                info.skipped.empty() ? "" : (" (" + info.skipped.front() + ", ...)").c_str());
    std::printf("wrote     %s (%s)\n", o->out.c_str(), o->dtype.c_str());
    return 0;
  };
});
}  // namespace
