// othello-gpt export-games --in FILE --format text [--out TXT]: one game per line in standard
// notation (f5d6c3...), streamed chunk by chunk; to stdout unless --out (written atomically).
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "data/game_file.hpp"
#include "data/text_games.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace {
struct Opts {
  std::string in, out, format = "text";
  bool spaces = false, quiet = false;
  uint64_t limit = 0;
};

ogpt::cli::Command reg("export-games", "Write the games of a game file as text, one per line",
                       [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--in,-i", o->in, "Game file")->required()->check(CLI::ExistingFile);
  sub.add_option("--format,-f", o->format, "Output format")->check(CLI::IsMember({"text"}));
  sub.add_option("--out,-o", o->out, "Text file (default: standard output)");
  sub.add_flag("--spaces", o->spaces, "Separate moves with spaces (f5 d6 c3)");
  sub.add_option("--limit", o->limit, "Export only the first N games");
  sub.add_flag("--quiet,-q", o->quiet, "No progress bar");
  return [o]() -> int {
    using namespace ogpt;
    if (!o->out.empty()) cli::require_not_input(o->out, o->in, "--out");
    data::GameReader r(o->in);
    uint64_t total = o->limit ? std::min(o->limit, r.count()) : r.count();
    std::optional<util::AtomicWriter> w;
    if (!o->out.empty()) w.emplace(o->out);
    util::Progress bar("export", total, "games", !o->quiet && w.has_value());
    std::vector<data::Game> batch;
    std::string text;
    uint64_t done = 0;
    while (done < total && r.next_batch(batch, std::min<uint64_t>(data::kGamesPerChunk, total - done))) {
      text.clear();
      for (auto& g : batch) {
        text += data::game_to_text(g, o->spaces);
        text += '\n';
      }
      if (w) {
        w->write(text.data(), text.size());
      } else if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
        throw IoError("cannot write to standard output");
      }
      done += batch.size();
      bar.update(done);
    }
    // All games read: one more read runs the reader's end-of-file check (nothing may follow the
    // last chunk), so a damaged file is refused here as eval would refuse it.
    if (done == r.count()) r.next_batch(batch, 1);  // throws on trailing bytes, else reads nothing
    if (w) {
      w->commit();
      bar.finish();
      std::fprintf(stderr, "wrote %llu games to %s\n", (unsigned long long)done, o->out.c_str());
    }
    return 0;
  };
});
}  // namespace
