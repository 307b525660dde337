// othello-gpt import-games --text FILE --out GAMES [--skip-bad]: text games (one per line,
// standard notation) into a game file. Each line is replayed; a bad line stops the import with
// its line, move number, square and reason, or with --skip-bad is reported and left out.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "data/game_file.hpp"
#include "data/text_games.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace {
struct Opts {
  std::string text, out;
  bool skip_bad = false, json = false;
};

ogpt::cli::Command reg("import-games", "Read games as text (one per line) into a game file",
                       [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--text,-t", o->text, "Text file: one game per line, e.g. f5d6c3d3c4...")
      ->required()->check(CLI::ExistingFile);
  sub.add_option("--out,-o", o->out, "Output game file")->required();
  sub.add_flag("--skip-bad", o->skip_bad, "Skip illegal lines (and list them) instead of stopping");
  sub.add_flag("--json", o->json, "Print the counts and rejected lines as JSON");
  return [o]() -> int {
    using namespace ogpt;
    cli::require_not_input(o->out, o->text, "--out");
    data::TextGames t = data::read_text_games(o->text, o->skip_bad);
    // An empty result is almost always the wrong file (or every line skipped): say so rather
    // than write a game file that every later command refuses.
    if (t.games.empty())
      throw UserError(o->text + ": no games" +
                          (t.rejected.empty() ? std::string(" (no non-empty lines)")
                                              : " (all " + std::to_string(t.rejected.size()) + " lines skipped as illegal)") +
                          "; nothing written",
                      kUsage);
    data::write_games(o->out, t.games);
    if (o->json) {
      nlohmann::json rj = nlohmann::json::array();
      for (auto& r : t.rejected) rj.push_back({{"line", r.line}, {"message", r.message}});
      nlohmann::json j = {{"out", o->out}, {"games", t.games.size()}, {"lines", t.lines}, {"rejected", rj}};
      std::printf("%s\n", util::json_text(j, 2).c_str());
      return 0;
    }
    for (auto& r : t.rejected) std::printf("skipped: %s\n", r.message.c_str());
    std::printf("wrote %zu games to %s (%llu lines, %zu skipped as illegal)\n", t.games.size(),
                o->out.c_str(), (unsigned long long)t.lines, t.rejected.size());
    return 0;
  };
});
}  // namespace
