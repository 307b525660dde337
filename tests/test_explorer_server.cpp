// `othello-gpt serve`'s HTTP wiring (explorer/server.hpp) over a real loopback socket: the page and
// the API answer, requests addressed to another host are refused, and SIGINT stops the server.
#include <doctest/doctest.h>

#include <httplib.h>

#include <csignal>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "explorer/server.hpp"
#include "model/config.hpp"
#include "othello/game_record.hpp"
#include "util/error.hpp"

using namespace ogpt;

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
