// othello-gpt generate --games N --seed S --out FILE [--threads T]: synthetic random games.
// Game i is random_game(seed, i), so the file is byte-identical for any thread count.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/checks.hpp"
#include "cli/registry.hpp"
#include "data/game_file.hpp"
#include "data/generate.hpp"
#include "util/progress.hpp"
#include "util/json_text.hpp"

namespace {
struct Opts {
  uint64_t games = 0, seed = 0, first = 0;
  std::string out;
  int threads = 0;
  bool json = false, quiet = false;
};

ogpt::cli::Command reg("generate", "Generate uniformly random legal games (Li et al.'s synthetic data)",
                       [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--games,-n", o->games, "Number of games")->required()->check(ogpt::cli::positive());
  sub.add_option("--seed,-s", o->seed, "Stream seed: game i is a pure function of (seed, i)")->required();
  sub.add_option("--first", o->first, "Index of the first game (to extend a stream)");
  sub.add_option("--out,-o", o->out, "Output game file")->required();
  sub.add_option("--threads,-t", o->threads, "Threads (0 = all cores); the file does not depend on it")
      ->check(ogpt::cli::nonnegative());
  sub.add_flag("--json", o->json, "Print the summary as JSON");
  sub.add_flag("--quiet,-q", o->quiet, "No progress bar");
  return [o]() -> int {
    using namespace ogpt;
    // 1e9 games are some 60 GB on disk (Li et al. trained on 20 M); beyond that is a typo.
    cli::require_count(o->games, 1000000000, "--games");
    if (o->first > UINT64_MAX - o->games)  // game i is a function of (seed, i): the index must not wrap
      throw UserError("--first " + std::to_string(o->first) + " + --games " + std::to_string(o->games) +
                          " passes the last game index (2^64 - 1)",
                      kUsage);
    data::GameFileInfo info;
    info.flags = data::kFlagSynthetic;
    info.count = o->games;
    info.seed = o->seed;
    info.first = o->first;
    data::GameWriter w(o->out, info);
    // One chunk of games at a time: generation is parallel, the writer streams.
    std::vector<data::Game> block(std::min<uint64_t>(o->games, data::kGamesPerChunk));
    data::GenerateStats st;
    util::Progress bar("generate", o->games, "games", !o->quiet);
    double gen_s = 0;
    for (uint64_t done = 0; done < o->games;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), o->games - done));
      double t0 = bar.elapsed_s();
      st.add(data::generate_games_stats(o->seed, o->first + done, n, block.data(), o->threads));
      gen_s += bar.elapsed_s() - t0;
      w.write(block.data(), n);
      done += n;
      bar.update(done);
    }
    w.commit();
    bar.finish();
    double total_s = bar.elapsed_s();
    double mean = st.games ? static_cast<double>(st.moves) / st.games : 0;
    if (o->json) {
      nlohmann::json j = {{"file", o->out},
                          {"seed", o->seed},
                          {"first", o->first},
                          {"games", st.games},
                          {"moves", st.moves},
                          {"mean_length", mean},
                          {"games_with_passes", st.games_with_passes},
                          {"games_shorter_than_60", st.games_short},
                          {"games_per_s", total_s > 0 ? st.games / total_s : 0},
                          {"generator_games_per_s", gen_s > 0 ? st.games / gen_s : 0}};
      std::printf("%s\n", util::json_text(j, 2).c_str());
    } else {
      auto pct = [&](uint64_t x) { return st.games ? 100.0 * x / st.games : 0.0; };
      std::printf("wrote %s\n", o->out.c_str());
      std::printf("  games                  %llu (seed %llu, first index %llu)\n",
                  (unsigned long long)st.games, (unsigned long long)o->seed, (unsigned long long)o->first);
      std::printf("  moves                  %llu\n", (unsigned long long)st.moves);
      std::printf("  mean length            %.3f\n", mean);
      std::printf("  games with passes      %llu (%.2f%%)\n", (unsigned long long)st.games_with_passes,
                  pct(st.games_with_passes));
      std::printf("  games ending before 60 %llu (%.2f%%)\n", (unsigned long long)st.games_short,
                  pct(st.games_short));
      std::printf("  games/s                %.0f overall, %.0f generator only\n",
                  total_s > 0 ? st.games / total_s : 0, gen_s > 0 ? st.games / gen_s : 0);
    }
    return 0;
  };
});
}  // namespace
