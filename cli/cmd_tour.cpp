// othello-gpt tour [--model M] [--probe P] [--out report.html] [--figures DIR] [--games N] [--cases N]
//                  [--seed S] [--quick] [--json]
// The experiment end to end in a few minutes on a trained model (the shipped one by default):
// predictions, the probe sweep, the intervention benchmark, a saliency map, and a
// self-contained HTML report of everything it measured (report/).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "report/tour.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/json_text.hpp"

namespace {

using namespace ogpt;

struct Args {
  report::TourOptions o;
  std::string out = "othello-gpt-tour.html";
  std::string figures;  // also write the report's pictures here as .svg files
  bool quick = false, json = false, quiet = false, linear_only = false;
};

int run(Args& a) {
  report::TourOptions o = a.o;
  o.default_dir = cli::default_model_path();
  if (a.quick) report::apply_quick(o);
  o.progress = !a.quiet;
  o.gradient = !a.linear_only;
  auto say = [&](const std::string& s) {
    if (!a.json) std::printf("%s\n", s.c_str()), std::fflush(stdout);
  };
  // Before minutes of work: an --out or --figures path that cannot be written fails now, not at the end.
  if (!a.figures.empty()) {  // first: --out may be inside it
    util::ensure_directory(a.figures);
    util::check_writable(a.figures + "/probe-sweep.svg");
  }
  {
    std::vector<cli::NamedPath> inputs = {cli::model_input(a.o.model)};
    if (!inputs[0].path.empty()) cli::add_probe_inputs(&inputs, report::tour_probe_path(inputs[0].path, a.o.probe));
    cli::require_outputs_apart({{"--out", a.out}}, inputs);
  }
  util::check_writable(a.out);
  report::Tour t = report::tour_begin(o);
  say("othello-gpt tour: model " + t.model_path + " (" + t.cfg.describe() + "), probes " + t.probe_path + " (" +
      t.probes.describe() + ")");
  for (auto& w : t.warnings) std::fprintf(stderr, "othello-gpt: warning: %s\n", w.c_str());

  report::timed(t, "1. predictions", [&] { report::tour_game(t); });
  say(report::game_text(t));

  report::timed(t, "2. probe sweep", [&] {
    const int total = 2 * (t.cfg.n_layers + 1) * 4;
    util::Progress bar("probe sweep", total, "probes", o.progress);
    bar.update(0, "extracting activations");
    report::tour_sweep(t, [&](int done, int, const probes::SweepRow& r) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "L%d %s %s %s %.1f%%", r.layer, r.random_model ? "random" : "trained",
                    probes::kind_name(r.kind), probes::target_name(r.target), 100 * r.accuracy);
      bar.update(done, buf);
    });
    bar.finish();
  });
  say(report::sweep_text(t));

  report::timed(t, "3. interventions", [&] {
    util::Progress bar("interventions", uint64_t(o.cases) * 4 * (o.gradient ? 2 : 1), "cases", o.progress);
    report::tour_bench(t, [&](uint64_t done, uint64_t, const std::string& what) { bar.update(done, what); });
    bar.finish();
  });
  say(report::bench_text(t));

  report::timed(t, "4. saliency", [&] { report::tour_saliency(t); });
  say(report::saliency_text(t));

  util::write_file_atomic(a.out, report::tour_html(t));
  std::vector<std::string> written;
  if (!a.figures.empty())
    for (const auto& [name, svg] : report::tour_figures(t)) {
      written.push_back((std::filesystem::path(a.figures) / name).string());
      util::write_file_atomic(written.back(), svg);
    }
  if (a.json) {
    nlohmann::json j = report::tour_json(t, a.out);
    if (!a.figures.empty()) j["figures"] = written;
    std::printf("%s\n", util::json_text(j, 2).c_str());
    return 0;
  }
  std::printf("time: %.1f s wall, %.1f s CPU\n", t.total_wall_s, t.total_cpu_s);
  std::printf("wrote %s\n", a.out.c_str());
  for (const auto& w : written) std::printf("wrote %s\n", w.c_str());
  return 0;
}

cli::Command reg("tour", "The whole experiment in minutes: predictions, probes, interventions, an HTML report",
                 [](CLI::App& sub) {
  auto a = std::make_shared<Args>();
  sub.add_option("--model,-m", a->o.model, "Checkpoint file or run directory (default: the shipped model, data/default)");
  sub.add_option("--probe,-p", a->o.probe, "Probe file or directory of probes (default: DIR/probes beside the model)");
  sub.add_option("--out,-o", a->out, "HTML report to write")->capture_default_str();
  sub.add_option("--figures", a->figures,
                 "Also write the report's pictures to this directory as probe-sweep.svg, intervention-bench.svg "
                 "and saliency.svg (created if missing)");
  sub.add_option("--games", a->o.games, "Fresh random games for the probe sweep")->capture_default_str();
  sub.add_option("--cases", a->o.cases, "Intervention cases per kind (flip, erase) and set (reachable, unreachable)")
      ->capture_default_str();
  sub.add_option("--seed", a->o.seed, "Stream of the fresh games and cases (not the model's training seed)")
      ->capture_default_str();
  sub.add_flag("--linear-only", a->linear_only, "Benchmark only the linear edit (skip Li et al.'s gradient edit)");
  sub.add_flag("--quick", a->quick, "Tiny sizes (a few seconds; for tests and smoke runs)");
  sub.add_flag("--json", a->json, "Print every measured number as JSON (instead of the text)");
  sub.add_flag("--quiet,-q", a->quiet, "No progress bars");
  return [a]() -> int { return run(*a); };
});

}  // namespace
