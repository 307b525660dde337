// othello-gpt import-wthor FILE.wtb... --out FILE: real games from WTHOR databases into a game
// file. Each record is replayed (passes implicit); illegal ones are skipped and reported.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "data/game_file.hpp"
#include "data/wthor.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {
struct Opts {
  std::vector<std::string> in;
  std::string out;
  bool json = false, strict = false;
};

ogpt::cli::Command reg("import-wthor", "Import real games from WTHOR .wtb files into a game file",
                       [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("files", o->in, "WTHOR .wtb files")->required()->check(CLI::ExistingFile);
  sub.add_option("--out,-o", o->out, "Output game file")->required();
  sub.add_flag("--json", o->json, "Print the per-file counts and rejections as JSON");
  sub.add_flag("--strict", o->strict, "Fail (exit 3, nothing written) if any game is rejected");
  return [o]() -> int {
    using namespace ogpt;
    std::vector<data::Game> games;
    std::vector<data::WthorReject> rejected;
    nlohmann::json files = nlohmann::json::array();
    for (const auto& path : o->in) cli::require_not_input(o->out, path, "--out");
    for (const auto& path : o->in) {
      data::WthorFile f = data::read_wthor(path);
      for (auto& g : f.games) games.push_back(g.game);
      rejected.insert(rejected.end(), f.rejected.begin(), f.rejected.end());
      files.push_back({{"file", path},
                       {"games", f.header.n_games},
                       {"year", f.header.game_year},
                       {"accepted", f.games.size()},
                       {"rejected", f.rejected.size()}});
    }
    if (o->strict && !rejected.empty())
      throw UserError(rejected.front().message() + " (and " + std::to_string(rejected.size() - 1) +
                      " more rejected; --strict)");
    // Nothing accepted is almost always the wrong file: say so rather than replace --out with an
    // empty game file (as import-games does).
    if (games.empty())
      throw UserError("no games accepted" +
                          (rejected.empty() ? std::string(" (the files hold none)")
                                            : " (all " + std::to_string(rejected.size()) + " rejected, first: " +
                                                  rejected.front().message() + ")") +
                          "; nothing written",
                      kUsage);
    data::write_games(o->out, games);
    if (o->json) {
      nlohmann::json rj = nlohmann::json::array();
      for (auto& r : rejected)
        rj.push_back({{"file", r.file}, {"game", r.index}, {"move", r.move}, {"reason", r.reason},
                      {"message", r.message()}});
      nlohmann::json j = {{"out", o->out}, {"games", games.size()}, {"files", files}, {"rejected", rj}};
      std::printf("%s\n", util::json_text(j, 2).c_str());
      return 0;
    }
    std::printf("%-32s %6s %6s %9s %9s\n", "file", "year", "games", "accepted", "rejected");
    for (auto& f : files)
      std::printf("%-32s %6d %6llu %9llu %9llu\n", f["file"].get<std::string>().c_str(), f["year"].get<int>(),
                  f["games"].get<unsigned long long>(), f["accepted"].get<unsigned long long>(),
                  f["rejected"].get<unsigned long long>());
    for (auto& r : rejected) std::printf("rejected: %s\n", r.message().c_str());
    std::printf("wrote %zu games to %s\n", games.size(), o->out.c_str());
    return 0;
  };
});
}  // namespace
