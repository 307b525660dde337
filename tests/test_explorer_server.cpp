// `othello-gpt serve`'s HTTP wiring (explorer/server.hpp) over a real loopback socket: the page and
// the API answer, requests addressed to another host are refused, and SIGINT stops the server.
#include <doctest/doctest.h>

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "explorer/server.hpp"
#include "model/config.hpp"
#include "othello/game_record.hpp"
#include "util/error.hpp"

using namespace ogpt;

namespace {

// One raw HTTP/1.1 request on a fresh connection (httplib's client always sends Content-Length):
// the answer's status code (0: none within 10 s), the seconds it took and the answer's body.
struct RawAnswer {
  int status = 0;
  double seconds = 0;
  std::string body;
};
RawAnswer raw_request(int port, const std::string& text) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
  // Read until the headers and Content-Length bytes of body are in (or the peer closes).
  std::string in;
  char buf[4096];
  for (;;) {
    const size_t head = in.find("\r\n\r\n");
    if (head != std::string::npos) {
      const size_t cl = in.find("Content-Length: ");
      if (cl == std::string::npos || cl > head) break;
      if (in.size() >= head + 4 + std::stoul(in.substr(cl + 16))) break;
    }
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, size_t(n));
  }
  RawAnswer r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  close(fd);
  if (in.size() >= 12 && in.compare(0, 9, "HTTP/1.1 ") == 0) r.status = std::atoi(in.c_str() + 9);
  const size_t head = in.find("\r\n\r\n");
  if (head != std::string::npos) r.body = in.substr(head + 4);
  return r;
}

}  // namespace

TEST_CASE("explorer server: loopback HTTP, host check, SIGINT stops it") {
  const model::Config cfg = model::preset("2x64");
  auto gpt = std::make_unique<model::GPT>(cfg, 1, model::Precision::f32);
  model::init_params(gpt->params, 2);
  gpt->mark_params_changed();
  auto ex = explorer::make_explorer(std::move(gpt), {});
  std::promise<std::string> url;
  explorer::ServeOptions o;
  o.port = 0;
  o.threads = 2;
  o.on_listen = [&](const std::string& u) { url.set_value(u); };
  std::thread t([&] { explorer::serve(*ex, o); });
  const std::string u = url.get_future().get();
  REQUIRE(u.rfind("http://127.0.0.1:", 0) == 0);
  const int port = std::stoi(u.substr(17));
  {
    httplib::Client c("127.0.0.1", port);
    auto page = c.Get("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->get_header_value("Content-Type").rfind("text/html", 0) == 0);
    auto st = c.Post("/api/state", R"({"moves": "f5 d6"})", "application/json");
    REQUIRE(st);
    CHECK(st->status == 200);
    nlohmann::json legal = nlohmann::json::array();  // the engine's, in square order as the API lists them
    for (int sq : othello::squares_of(othello::get_moves(othello::replay(othello::parse_game("f5 d6")).back())))
      legal.push_back(othello::square_name(sq));
    CHECK(nlohmann::json::parse(st->body)["legal"] == legal);
    auto bad = c.Post("/api/state", R"({"moves": "f5 f5"})", "application/json");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(nlohmann::json::parse(bad->body)["error"].get<std::string>().find("move 2 (f5)") != std::string::npos);
    // No probes here: the probe and intervention endpoints say so.
    auto np = c.Post("/api/intervene", R"({"moves": "f5", "cell": "e4", "to": "mine"})", "application/json");
    REQUIRE(np);
    CHECK(np->status == 400);
    // DNS rebinding guard: a request naming another host is refused.
    httplib::Headers other = {{"Host", "evil.example:" + std::to_string(port)}};
    auto reb = c.Get("/api/info", other);
    REQUIRE(reb);
    CHECK(reb->status == 403);
    // No Content-Length and no Transfer-Encoding: no body, answered at once (httplib alone waited
    // for the peer to close, a 5 s read timeout).
    const std::string host = "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
    const RawAnswer post = raw_request(port, "POST /api/state HTTP/1.1\r\n" + host + "\r\n");
    CHECK(post.status == 400);  // an empty body is not a JSON object
    CHECK(post.seconds < 2.0);
    const RawAnswer del = raw_request(port, "DELETE /api/state HTTP/1.1\r\n" + host + "\r\n");
    CHECK(del.status == 405);
    CHECK(del.seconds < 2.0);
    // curl -d sends application/x-www-form-urlencoded, which httplib reads only up to 8 KiB and
    // refused beyond with an empty 413: such a body gets a JSON answer naming the type to use.
    for (auto [n, status] : {std::pair{8000, 400}, std::pair{10000, 413}}) {
      auto form = c.Post("/api/state", std::string(n, ' '), "application/x-www-form-urlencoded");
      REQUIRE(form);
      CHECK(form->status == status);
      const auto j = nlohmann::json::parse(form->body, nullptr, false);
      REQUIRE(j.is_object());
      if (status == 413) CHECK(j["error"].get<std::string>().find("application/json") != std::string::npos);
    }
    // What httplib refuses itself, before any handler, gets a JSON error too (it answered with an
    // empty body): a chunked form-encoded body over 8 KiB (no Content-Length to check first), a
    // body over the 1 MiB payload limit, a request line it cannot parse.
    const std::string form(10000, ' ');
    char size[16];
    std::snprintf(size, sizeof size, "%zx", form.size());
    const std::string chunked = "POST /api/state HTTP/1.1\r\n" + host +
                                "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                size + "\r\n" + form + "\r\n0\r\n\r\n";
    const std::string huge = "POST /api/state HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: " +
                             std::to_string(2 << 20) + "\r\n\r\n{";
    const std::string garbled = "POST /api/state HTTP/1.1 and more\r\n" + host + "\r\n";
    for (auto [text, status] : {std::pair{chunked, 413}, std::pair{huge, 413}, std::pair{garbled, 400}}) {
      CAPTURE(text.substr(0, 60));
      const RawAnswer r = raw_request(port, text);
      CHECK(r.status == status);
      const auto j = nlohmann::json::parse(r.body, nullptr, false);
      REQUIRE(j.is_object());
      CHECK(j["error"].get<std::string>().size() > 10);
      if (status == 413) CHECK(j["error"].get<std::string>().find("application/json") != std::string::npos);
    }
  }
  // A second server on the same port is refused, not silently sharing it.
  explorer::ServeOptions same = o;
  same.port = port;
  same.on_listen = nullptr;
  CHECK_THROWS_AS(explorer::serve(*ex, same), IoError);
  std::raise(SIGINT);  // what Ctrl-C sends; serve() returns once in-flight requests are done
  t.join();
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(1);
  CHECK(!after.Get("/api/info"));  // stopped: nothing listens any more
}
