#pragma once
// `othello-gpt serve`'s HTTP side: cpp-httplib around explorer::handle_request (which does all
// the work and is tested without sockets). Loopback only unless the caller names another host.
#include <functional>
#include <string>

#include "explorer/explorer.hpp"

namespace ogpt::explorer {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;   // 0 = any free port
  int threads = 4;   // connection threads; model use is serialised by Explorer::mutex anyway
  // Called once the socket listens, with the page's URL (the CLI prints it).
  std::function<void(const std::string& url)> on_listen;
};

// Serves until SIGINT or SIGTERM (Ctrl-C), then stops cleanly (in-flight requests finish) and
// returns. Throws IoError when the address cannot be bound (e.g. the port is in use).
void serve(Explorer& ex, const ServeOptions& opt);

}  // namespace ogpt::explorer
