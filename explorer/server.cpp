#include "explorer/server.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "util/error.hpp"

namespace ogpt::explorer {

namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");
extern "C" void on_signal(int) { g_stop.store(true); }

constexpr size_t kFormBodyLimit = 8192;  // httplib 0.11's CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

}  // namespace

void serve(Explorer& ex, const ServeOptions& opt) {
  httplib::Server svr;
  const int threads = std::max(1, opt.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Bodies up to 1 MiB reach the handler, which answers 413 in JSON above kMaxBody; httplib
  // refuses anything larger before reading it.
  svr.set_payload_max_length(1 << 20);
  svr.set_keep_alive_timeout(2);  // a browser's idle connections must not hold the few threads long
  // httplib's default also sets SO_REUSEPORT, which lets a second server share a busy port
  // silently (the kernel then splits the connections); SO_REUSEADDR alone still lets a restarted
  // server bind at once, and a port in use is refused.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof yes);
  });
  int port = opt.port;
  if (port == 0) {
    port = svr.bind_to_any_port(opt.host);
  } else if (!svr.bind_to_port(opt.host, port)) {
    port = -1;
  }
  if (port <= 0)
    throw IoError("cannot listen on " + opt.host + ":" + std::to_string(opt.port) +
                  " (port in use, or not an address of this machine?)");
  // On loopback, answer only requests addressed to loopback: a web page elsewhere cannot reach
  // this server through DNS rebinding.
  const bool check_host = is_loopback(opt.host);
  const std::string ps = std::string(":").append(std::to_string(port));
  std::vector<std::string> hosts;
  for (const char* h : {"127.0.0.1", "localhost", "[::1]"}) hosts.push_back(std::string(h).append(ps));
  auto handler = [&ex, check_host, hosts](const httplib::Request& req, httplib::Response& res) {
    Response r;
    const std::string host = req.get_header_value("Host");
    if (check_host && std::find(hosts.begin(), hosts.end(), host) == hosts.end())
      r = {403, "{\"error\":\"this server answers requests for 127.0.0.1 or localhost only\"}\n", "application/json"};
    else
      r = handle_request(ex, req.method, req.path, req.body);
    res.status = r.status;
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    // The page loads nothing from elsewhere; say so to the browser too.
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:");
    res.set_content(r.body, r.content_type);
  };
  // Every method reaches the handler, which answers 404/405 in JSON.
  svr.Get(".*", handler).Post(".*", handler).Put(".*", handler).Delete(".*", handler).Patch(".*", handler);
  svr.Options(".*", handler);
  // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 6.3), but
  // httplib 0.11 reads a POST/PUT/PATCH/DELETE's body until the peer closes, so such a request (a
  // bare `curl -X DELETE`, a hand-typed POST) waited out the 5 s read timeout before its answer.
  // Answer it here, before httplib reads, with the empty body it has.
  svr.set_pre_routing_handler([handler](const httplib::Request& req, httplib::Response& res) {
    const bool reads_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                            req.method == "DELETE" || req.method == "PRI";
    if (!reads_body) return httplib::Server::HandlerResponse::Unhandled;
    // Debian's httplib is a compiled library that reads a form-encoded body (curl -d's default
    // type) only up to 8 KiB and answers 413 with no body beyond; answer such a request here, in
    // JSON as every other error, and name the type that is read up to the explorer's limit.
    if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0 &&
        req.get_header_value_count("Content-Length") > 0 &&
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > kFormBodyLimit) {
      res.status = 413;
      res.set_content("{\"error\":\"a form-encoded body is read only up to " + std::to_string(kFormBodyLimit) +
                          " bytes; send the JSON with Content-Type: application/json (up to " +
                          std::to_string(kMaxBody) + " bytes)\"}\n",
                      "application/json");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))
      return httplib::Server::HandlerResponse::Unhandled;
    handler(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // httplib answers some requests itself, with an empty body, before any handler sees them: a
  // body over the payload limit, a chunked form-encoded body over 8 KiB (the pre-routing check
  // above sees no Content-Length), a request it cannot parse. Those get a JSON error too.
  svr.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours, already JSON
    const std::string why =
        res.status == 413 ? "request body too large: send the JSON with Content-Type: application/json (up to " +
                                std::to_string(kMaxBody) + " bytes)"
                          : "the server could not read this request (HTTP status " + std::to_string(res.status) + ")";
    res.set_content("{\"error\":\"" + why + "\"}\n", "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));

  g_stop.store(false);
  struct sigaction sa {}, old_int{}, old_term{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  std::atomic<bool> done{false};
  std::thread listener([&] {
    svr.listen_after_bind();
    done.store(true);
  });
  const std::string shown = opt.host.find(':') != std::string::npos ? "[" + opt.host + "]" : opt.host;
  if (opt.on_listen) opt.on_listen("http://" + shown + ps + "/");
  while (!g_stop.load() && !done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  svr.stop();
  listener.join();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
}

}  // namespace ogpt::explorer
