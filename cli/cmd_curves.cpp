// othello-gpt curves RUN_DIR... --out FILE.svg [--json]
// Compares training runs (ablations): their validation curves in one picture, and a table of
// each run's last validation.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "model/train_log.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {
struct Opts {
  std::vector<std::string> runs;
  std::string out, title = "runs";
  bool json = false;
};

ogpt::cli::Command reg("curves", "Compare the validation curves of training runs in one SVG", [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("runs", o->runs, "Run directories (or log.csv files); each line is named after its directory")
      ->required();
  sub.add_option("--out,-o", o->out, "SVG file to write")->required();
  sub.add_option("--title", o->title, "Title prefix of the panels")->capture_default_str();
  sub.add_flag("--json", o->json, "Print the last validation of each run as JSON");
  return [o]() -> int {
    using namespace ogpt;
    namespace fs = std::filesystem;
    std::vector<model::NamedLog> logs;
    nlohmann::json rows = nlohmann::json::array();
    for (const std::string& r : o->runs) {
      fs::path csv = fs::is_directory(r) ? fs::path(r) / "log.csv" : fs::path(r);
      if (!fs::exists(csv)) throw UserError(csv.string() + ": no such file (give a run directory holding log.csv)");
      cli::require_outputs_apart({{"--out", o->out}}, {{"run", csv.string()}});
      // A run directory or its log.csv is named after the directory; any other CSV (logs kept side by
      // side, as in data/default/ablations/) after its own stem.
      std::string name = fs::is_directory(r)          ? fs::path(r).filename().string()
                         : csv.filename() == "log.csv" ? csv.parent_path().filename().string()
                                                       : csv.stem().string();
      if (name.empty() || name == ".") name = fs::absolute(r).lexically_normal().filename().string();
      logs.push_back({name, model::parse_log_csv(util::read_file(csv.string()), csv.string())});
      const model::LogRow* last = nullptr;
      for (const auto& row : logs.back().rows)
        if (std::isfinite(row.val_excess)) last = &row;
      nlohmann::json j = {{"run", name}, {"log", csv.string()}};
      if (last)
        j.update({{"games", last->games}, {"wall_hours", last->wall_s / 3600}, {"val_excess", last->val_excess},
                  {"val_legal_top1", last->val_legal_top1}});
      rows.push_back(j);
    }
    util::write_file_atomic(o->out, model::render_compare_svg(logs, o->title));
    if (o->json) {
      std::printf("%s\n", util::json_text(rows, 2).c_str());
      return kOk;
    }
    std::printf("%-24s %12s %8s %12s %10s\n", "run", "games", "hours", "val excess", "top-1");
    for (auto& j : rows) {
      if (!j.contains("games")) {
        std::printf("%-24s (no validation yet)\n", j["run"].get<std::string>().c_str());
        continue;
      }
      std::printf("%-24s %12llu %8.2f %12.4f %9.3f%%\n", j["run"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(j["games"].get<uint64_t>()), j["wall_hours"].get<double>(),
                  j["val_excess"].get<double>(), 100 * j["val_legal_top1"].get<double>());
    }
    std::printf("wrote %s\n", o->out.c_str());
    return kOk;
  };
});
}  // namespace
