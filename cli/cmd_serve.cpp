// othello-gpt serve [--port P] [--host H] [--model M] [--probe DIR]
// The interactive explorer: a local web page to play or paste a game, see the model's next-move
// probabilities as a heatmap, a probe's reading of the board, and edits of the board inside the
// model (explorer/). Thin: loads, prints the URL, serves until Ctrl-C.
#include <cstdio>
#include <memory>

#include "cli/registry.hpp"
#include "explorer/explorer.hpp"
#include "explorer/server.hpp"
#include "util/error.hpp"

namespace {

struct Args {
  std::string model, probe, host = "127.0.0.1";
  int port = 8080, threads = 4;
};

ogpt::cli::Command reg("serve", "Serve the interactive explorer (a local web page) for a model and its probes",
                       [](CLI::App& sub) {
  auto a = std::make_shared<Args>();
  sub.footer(
      "Open the printed URL in a browser: play (click a legal square) or paste a game, step through it, see the\n"
      "model's next-move probabilities, a probe's reading of the board, and click a disc to flip or erase it\n"
      "inside the model. The page is self-contained (works offline). Ctrl-C stops the server (exit code 0).\n"
      "JSON API (POST bodies are JSON objects; squares a1..h8): GET /api/info, POST /api/state {moves, upto},\n"
      "POST /api/probe {moves, upto, layer, basis, kind}, POST /api/intervene {moves, upto, cell, to, method, layer, positions}.");
  sub.add_option("--port,-p", a->port, "TCP port (0 = any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  sub.add_option("--host", a->host,
                 "Address to listen on; the default is loopback only. Anything else exposes the server to the network")
      ->capture_default_str();
  sub.add_option("--model,-m", a->model, "Checkpoint file or training directory (default: the shipped model)");
  sub.add_option("--probe", a->probe,
                 "Probe file or directory of *.probe files (default: the shipped probes, if any)");
  sub.add_option("--threads", a->threads, "Connection threads (model use is one request at a time anyway)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  return [a]() -> int {
    using namespace ogpt;
    // An empty host listens somewhere (httplib picks) and prints a URL without a host.
    if (a->host.empty()) throw UserError("--host must name an address to listen on (default 127.0.0.1)", kUsage);
    auto ex = explorer::load_explorer(a->model, a->probe, cli::default_model_path());
    explorer::ServeOptions o;
    o.host = a->host;
    o.port = a->port;
    o.threads = a->threads;
    o.on_listen = [&](const std::string& url) {
      std::printf("othello-gpt serve: %s  (model %s, %s; %zu probe%s%s%s)\n", url.c_str(), ex->model_path.c_str(),
                  ex->gpt->cfg().describe().c_str(), ex->probes.size(), ex->probes.size() == 1 ? "" : "s",
                  ex->probe_path.empty() ? "" : " from ", ex->probe_path.c_str());
      std::printf("press Ctrl-C to stop\n");
      std::fflush(stdout);
    };
    explorer::serve(*ex, o);
    std::printf("othello-gpt serve: stopped\n");
    return 0;
  };
});

}  // namespace
