// othello-gpt perft DEPTH [--mode bik|oeis] [--threads N] [--json]: counts the leaves of the
// game tree DEPTH plies below the start (a forced pass is a ply) and the speed of the count.
// Bik's convention counts games that ended early as leaves; --mode oeis gives OEIS A124004.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/registry.hpp"
#include "othello/perft.hpp"
#include "util/progress.hpp"
#include "util/json_text.hpp"

namespace {
struct Options {
  int depth = 0;
  std::string mode = "bik";
  int threads = 1;
  bool json = false;
};

ogpt::cli::Command reg("perft", "Count the leaves of the game tree from the start (move-generator check)",
                       [](CLI::App& sub) {
  auto opt = std::make_shared<Options>();
  sub.add_option("depth", opt->depth, "Plies below the start position (a pass is a ply)")
      ->required()
      ->check(CLI::Range(0, 30));
  sub.add_option("--mode", opt->mode,
                 "bik: games ended early count as leaves (default); oeis: they do not (A124004)")
      ->check(CLI::IsMember({"bik", "oeis"}));
  sub.add_option("--threads", opt->threads, "Worker threads (default 1)")->check(CLI::Range(1, 256));
  sub.add_flag("--json", opt->json, "Print JSON");
  return [opt]() -> int {
    using namespace ogpt::othello;
    PerftMode mode = parse_perft_mode(opt->mode);
    // Split the tree a few plies down into independent pieces: they feed the progress bar and
    // the threads. The pieces sum exactly to the full count (see perft_frontier).
    int split = opt->depth < 4 ? 0 : opt->depth < 8 ? 2 : 4;
    uint64_t ended = 0;
    std::vector<Board> pieces = perft_frontier(board_start(), split, &ended);
    uint64_t total = mode == PerftMode::bik ? ended : 0;

    auto t0 = std::chrono::steady_clock::now();
    ogpt::util::Progress bar("perft", pieces.size(), "pieces", opt->depth >= 12);  // depth 12 takes seconds
    std::atomic<size_t> next{0};
    std::atomic<uint64_t> sum{0};
    std::mutex bar_mutex;
    size_t done = 0;
    auto work = [&]() {
      for (size_t k; (k = next.fetch_add(1)) < pieces.size();) {
        sum += perft(pieces[k], opt->depth - split, mode);
        std::lock_guard<std::mutex> lock(bar_mutex);
        bar.update(++done);
      }
    };
    std::vector<std::thread> workers;
    for (int t = 1; t < opt->threads; ++t) workers.emplace_back(work);
    work();
    for (auto& w : workers) w.join();
    bar.finish();
    total += sum.load();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double rate = s > 0 ? static_cast<double>(total) / s : 0.0;

    if (opt->json) {
      nlohmann::json j{{"depth", opt->depth}, {"mode", perft_mode_name(mode)}, {"leaves", total},
                       {"seconds", s}, {"leaves_per_s", rate}, {"threads", opt->threads}};
      std::printf("%s\n", ogpt::util::json_text(j).c_str());
    } else {
      std::printf("perft %d (%s): %llu leaves in %.3f s, %.1f M leaves/s\n", opt->depth,
                  perft_mode_name(mode), static_cast<unsigned long long>(total), s, rate / 1e6);
    }
    return 0;
  };
});
}  // namespace
