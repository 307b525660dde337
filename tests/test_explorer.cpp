// The explorer's request handler (explorer/explorer.hpp) on a small untrained model with random
// probes: every answer is checked against the engine (boards, legal sets, labels) and against
// the intervention and probe code called directly; bad requests get a 4xx with a JSON error.
#include <doctest/doctest.h>

#include <array>
#include <bit>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "data/generate.hpp"
#include "data/labels.hpp"
#include "data/text_games.hpp"
#include "explorer/explorer.hpp"
#include "interventions/edit.hpp"
#include "model/config.hpp"
#include "othello/game_record.hpp"

using namespace ogpt;
using namespace ogpt::explorer;
using nlohmann::json;

namespace {

// A 2x64 model with random weights; random probes: linear and MLP mine-theirs at layers 1 and 2,
// a linear black-white probe at layer 1 and a linear "empty" probe at layer 2. The black-white
// probe records that it was fitted on token positions 2:5, the layer-1 linear mine-theirs one on
// all of them; the others record none (as a version-1 probe file).
std::unique_ptr<Explorer> make_test_explorer() {
  const model::Config cfg = model::preset("2x64");
  auto gpt = std::make_unique<model::GPT>(cfg, 1, model::Precision::f32);
  model::init_params(gpt->params, 5);
  gpt->mark_params_changed();
  std::vector<LoadedProbe> ps;
  auto add = [&](probes::Kind k, probes::Target t, int layer) {
    probes::Probe p = probes::make_probe(k, t, cfg.d_model, 16, 100 * layer + 10 * int(k) + int(t));
    p.layer = layer;
    p.hook = "blocks." + std::to_string(layer - 1) + ".hook_resid_post";
    ps.push_back({"test_" + std::to_string(ps.size()) + ".probe", p});
  };
  for (int layer = 1; layer <= 2; ++layer)
    for (auto k : {probes::Kind::linear, probes::Kind::mlp}) add(k, probes::Target::mine_theirs, layer);
  add(probes::Kind::linear, probes::Target::black_white, 1);
  add(probes::Kind::linear, probes::Target::empty, 2);
  ps[0].probe.info.positions = "all";
  ps[4].probe.info.positions = "2:5";
  return make_explorer(std::move(gpt), std::move(ps));
}

Explorer& shared() {
  static auto ex = make_test_explorer();
  return *ex;
}

json post(const std::string& path, const json& body, int want = 200) {
  const Response r = handle_request(shared(), "POST", path, body.dump());
  INFO(path << " " << body.dump() << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == want);
  return json::parse(r.body);
}

std::set<std::string> as_set(const json& a) {
  std::set<std::string> s;
  for (auto& x : a) s.insert(x.get<std::string>());
  return s;
}
std::set<std::string> as_set(othello::Bitboard b) {
  std::set<std::string> s;
  for (int sq : othello::squares_of(b)) s.insert(othello::square_name(sq));
  return s;
}

// The "probabilities" object of an answer as a per-square array (centre squares 0).
std::array<float, 64> probs_of(const json& j) {
  std::array<float, 64> p{};
  for (auto& [sq, v] : j.items()) p[othello::parse_square(sq)] = v.get<float>();
  return p;
}

const char* kGames[] = {"f5", "f5 d6 c3 d3 c4", "f5 f6 e6 f4 e3 c5 c4 d3", "f5 d6 c3 d3 c4 f4 f6 f3 e6 e7 d7 c6"};

}  // namespace

TEST_CASE("explorer: /api/info lists the model, the probes and the intervention layers") {
  const Response r = handle_request(shared(), "GET", "/api/info", "");
  REQUIRE(r.status == 200);
  const json j = json::parse(r.body);
  CHECK(j["model"]["n_layers"] == 2);
  CHECK(j["model"]["d_model"] == 64);
  CHECK(j["probes"].size() == 6);
  CHECK(j["intervene"]["linear"]["layers"] == json({1, 2}));
  CHECK(j["intervene"]["gradient"]["layers"] == json({1, 2}));
  CHECK(j["intervene"]["linear"]["default"] == 1);
  std::map<std::string, json> positions;
  for (auto& p : j["probes"]) positions[p["kind"].get<std::string>() + " " + p["basis"].get<std::string>() + " " +
                                        std::to_string(p["layer"].get<int>())] = p["positions"];
  CHECK(positions.at("linear black-white 1") == "2:5");
  CHECK(positions.at("linear mine-theirs 1") == "all");
  CHECK(positions.at("mlp mine-theirs 2").is_null());
}

TEST_CASE("explorer: /api/state is the engine's board and the model's distribution") {
  // The start: no model prediction (the model reads from the first move on).
  json s = post("/api/state", json::object());
  CHECK(s["legal"] == json({"d3", "c4", "f5", "e6"}));
  CHECK(s["to_move"] == "black");
  CHECK(s["model"].is_null());
  const std::string start = s["board"];
  CHECK(start.substr(27, 2) == "WB");  // d4 white, e4 black
  CHECK(start.substr(35, 2) == "BW");  // d5 black, e5 white
  for (const char* g : kGames) {
    CAPTURE(g);
    const std::vector<int> moves = othello::parse_game(g);
    othello::Board b = othello::replay(moves).back();
    s = post("/api/state", {{"moves", g}});
    CHECK(s["upto"] == moves.size());
    CHECK(as_set(s["legal"]) == as_set(othello::get_moves(b)));
    CHECK(s["to_move"] == othello::color_name(b.to_move));
    const std::string board = s["board"];
    for (int sq = 0; sq < 64; ++sq)
      CHECK(board[sq] == ((b.black() >> sq & 1) ? 'B' : (b.white() >> sq & 1) ? 'W' : '.'));
    const json& m = s["model"];
    REQUIRE(m.is_object());
    const auto probs = probs_of(m["probabilities"]);
    double sum = 0;
    for (float p : probs) sum += p;
    CHECK(m["probabilities"].size() == 60);
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-4));
    const int n = std::popcount(othello::get_moves(b));
    CHECK(m["predicted"].size() == size_t(n));
    CHECK(as_set(m["predicted"]) == as_set(interventions::top_n_squares(probs.data(), n)));
    CHECK(m["errors"] == interventions::top_n_errors(probs.data(), othello::get_moves(b)));
    // The same game as an array, and the same position reached with upto.
    std::vector<std::string> arr;
    for (int sq : moves) arr.push_back(othello::square_name(sq));
    CHECK(post("/api/state", {{"moves", arr}})["model"] == m);
    arr.push_back(othello::square_name(std::countr_zero(othello::get_moves(b))));
    CHECK(post("/api/state", {{"moves", arr}, {"upto", moves.size()}})["model"] == m);
  }
}

TEST_CASE("explorer: /api/probe reads the activation as the probe code does, beside the engine's labels") {
  Explorer& ex = shared();
  for (const char* g : kGames)
    for (const auto& lp : ex.probes) {
      const probes::Probe& p = lp.probe;
      CAPTURE(g);
      CAPTURE(lp.file);
      const json r = post("/api/probe", {{"moves", g}, {"layer", p.layer}, {"basis", probes::target_name(p.target)},
                                         {"kind", probes::kind_name(p.kind)}});
      const std::vector<int> moves = othello::parse_game(g);
      // By hand: the activation at the last move, the probe's per-cell argmax.
      std::vector<uint8_t> tokens(ex.gpt->cfg().n_ctx, 0);
      for (size_t t = 0; t < moves.size(); ++t) tokens[t] = uint8_t(othello::square_to_token(moves[t]));
      model::Hooks h;
      h.cache_names.insert(p.hook);
      ex.gpt->forward(tokens.data(), nullptr, 1, &h);
      uint8_t read[64];
      interventions::probe_read(read, p, h.cache.at(p.hook).data.data() + (moves.size() - 1) * p.d);
      data::PositionLabels lab[60];
      data::label_game(data::game_from_squares(moves), lab);
      const auto& L = lab[moves.size() - 1];
      int right = 0;
      for (int s = 0; s < 64; ++s) {
        CHECK(r["reading"][s] == read[s]);
        const int y = p.target == probes::Target::mine_theirs   ? L.mine_theirs[s]
                      : p.target == probes::Target::black_white ? L.black_white[s]
                                                                : int(L.empty >> s & 1);
        CHECK(r["truth"][s] == y);
        right += read[s] == y;
        CHECK(r["confidence"][s].get<double>() >= 1.0 / p.C - 1e-6);
        CHECK(r["confidence"][s].get<double>() <= 1.0 + 1e-6);
      }
      CHECK(r["correct"] == right);
      CHECK(r["classes"].size() == size_t(p.C));
      // Whether this position (moves - 1) is one the probe was fitted on; null where unrecorded.
      const int t = int(moves.size()) - 1;
      if (p.info.positions == "2:5")
        CHECK(r["fitted_position"] == (t >= 2 && t < 5));
      else if (p.info.positions == "all")
        CHECK(r["fitted_position"] == true);
      else
        CHECK(r["fitted_position"].is_null());
    }
}

TEST_CASE("explorer: /api/intervene returns the edited board's true legal set and top-N predictions") {
  Explorer& ex = shared();
  int cases = 0;
  for (const char* g : kGames) {
    const std::vector<int> moves = othello::parse_game(g);
    const othello::Board b = othello::replay(moves).back();
    int disc = 0;
    for (int cell : othello::squares_of(b.player | b.opponent)) {
      for (const char* method : {"linear", "gradient"})
        for (const char* to : {"flip", "empty"}) {
          // Every third disc both ways with the linear edit; every sixth, flipped, with the gradient one.
          const bool linear = std::string(method) == "linear";
          if (disc % (linear ? 3 : 6) != 0 || (!linear && std::string(to) == "empty")) continue;
          const auto was = interventions::get_cell_state(b, cell);
          const auto target = std::string(to) == "empty" ? interventions::CellState::empty
                              : was == interventions::CellState::mine ? interventions::CellState::theirs
                                                                      : interventions::CellState::mine;
          const othello::Board edited = interventions::edit_board(b, cell, target);
          const json body = {{"moves", g}, {"cell", othello::square_name(cell)},
                             {"to", interventions::cell_state_name(target)}, {"method", method}, {"layer", 1}};
          CAPTURE(body.dump());
          // Refused: nothing to predict on the edited board, or an emptied centre square.
          if (!othello::get_moves(edited) || (othello::is_centre(cell) && target == interventions::CellState::empty)) {
            post("/api/intervene", body, 400);
            continue;
          }
          const json r = post("/api/intervene", body);
          ++cases;
          CHECK(as_set(r["after"]["legal"]) == as_set(othello::get_moves(edited)));
          CHECK(as_set(r["before"]["legal"]) == as_set(othello::get_moves(b)));
          const int n_after = std::popcount(othello::get_moves(edited));
          CHECK(r["after"]["predicted"].size() == size_t(n_after));
          CHECK(r["before"]["predicted"].size() == size_t(std::popcount(othello::get_moves(b))));
          CHECK(r["null_predicted"].size() == size_t(n_after));
          CHECK(r["errors"] == r["false_positives"].size() + r["false_negatives"].size());
          const auto probs = probs_of(r["after"]["probabilities"]);
          CHECK(as_set(r["after"]["predicted"]) == as_set(interventions::top_n_squares(probs.data(), n_after)));
          CHECK(r["errors"] == interventions::top_n_errors(probs.data(), othello::get_moves(edited)));
          CHECK(r["layers"] == json({1, 2}));
          const std::string eb = r["after"]["board"];
          CHECK(eb[cell] == ((edited.black() >> cell & 1) ? 'B' : (edited.white() >> cell & 1) ? 'W' : '.'));
          if (cases % 3 != 1) continue;
          // The numbers are run_cases's, called directly.
          interventions::InterventionOptions opt;
          opt.method = interventions::parse_method(method);
          opt.layer = 1;
          const auto direct = interventions::run_cases(*ex.gpt, ex.edit_probes, {{moves, cell, target}}, opt)[0];
          CHECK(r["errors"] == direct.errors);
          CHECK(r["null_errors"] == direct.null_errors);
          CHECK(as_set(r["after"]["predicted"]) == as_set(direct.predicted_after));
          CHECK(r["positions"] == "last");
          // Edited at every position since the cell last changed, at that edit's default scale.
          json since_body = body;
          since_body["positions"] = "since";
          const json rs = post("/api/intervene", since_body);
          opt.positions = interventions::Positions::since;
          opt.linear.scale = interventions::default_scale(opt.positions);
          const auto since = interventions::run_cases(*ex.gpt, ex.edit_probes, {{moves, cell, target}}, opt)[0];
          CHECK(rs["positions"] == "since");
          CHECK(rs["errors"] == since.errors);
          CHECK(as_set(rs["after"]["predicted"]) == as_set(since.predicted_after));
          const auto probs_since = probs_of(rs["after"]["probabilities"]);
          for (int s = 0; s < 64; ++s) CHECK(probs_since[s] == doctest::Approx(since.after.probs[s]).epsilon(1e-5));
        }
      ++disc;
    }
  }
  CHECK(cases > 10);
}

TEST_CASE("explorer: bad requests get a 4xx with a JSON error naming the problem") {
  Explorer& ex = shared();
  struct Bad {
    const char *method, *path, *body;
    int status;
    const char* says;
  } bad[] = {
      {"POST", "/api/state", "{\"moves\": \"f5 d6", 400, "not valid JSON"},
      {"POST", "/api/state", "[1,2]", 400, "JSON object"},
      {"POST", "/api/state", "{\"moves\": \"f5 f5\"}", 400, "move 2 (f5)"},
      {"POST", "/api/state", "{\"moves\": [\"f5\", \"d6\", \"a1\"]}", 400, "move 3 (a1)"},
      {"POST", "/api/state", "{\"moves\": [\"f5\", 7]}", 400, "array of strings"},
      {"POST", "/api/state", "{\"moves\": 5}", 400, "'moves' must be"},
      {"POST", "/api/state", "{\"moves\": \"f5\", \"upto\": \"1\"}", 400, "'upto' must be an integer"},
      {"POST", "/api/state", "{\"moves\": \"f5\", \"upto\": 2}", 400, "'upto' must be in 0..1"},
      {"POST", "/api/state", "{\"moves\": \"f5\", \"upto\": -1}", 400, "'upto' must be in"},
      {"POST", "/api/state", "{\"moves\": \"f5\", \"upto\": 1.5}", 400, "integer"},
      {"POST", "/api/state", "{\"movs\": \"f5\"}", 400, "unknown field 'movs'"},
      {"POST", "/api/probe", "{\"moves\": \"f5\", \"layer\": 7}", 400, "no linear mine-theirs probe at layer 7"},
      {"POST", "/api/probe", "{\"moves\": \"f5\", \"layer\": 1, \"kind\": \"cubic\"}", 400, "cubic"},
      {"POST", "/api/probe", "{\"layer\": 1}", 400, "first move"},
      {"POST", "/api/intervene", "{\"moves\": \"f5\", \"cell\": \"z9\", \"to\": \"mine\"}", 400, "'z9' is not a square"},
      {"POST", "/api/intervene", "{\"moves\": \"f5\", \"cell\": \"e4\"}", 400, "missing field 'to'"},
      {"POST", "/api/intervene", "{\"moves\": \"f5\", \"cell\": \"e4\", \"to\": \"purple\"}", 400, "purple"},
      {"POST", "/api/intervene", "{\"moves\": \"f5\", \"cell\": \"e4\", \"to\": \"mine\", \"method\": \"x\"}", 400, "method"},
      {"POST", "/api/intervene", "{\"moves\": \"f5\", \"cell\": \"e4\", \"to\": \"mine\", \"layer\": 5}", 400, "layer 5"},
      {"POST", "/api/intervene", "{\"moves\": \"f5\", \"cell\": \"e4\", \"to\": \"mine\", \"positions\": \"sometimes\"}", 400, "last or since"},
      {"POST", "/api/intervene", "{\"moves\": \"f5\", \"cell\": 12, \"to\": \"mine\"}", 400, "'cell' must be a string"},
      {"GET", "/api/nothing", "", 404, "no such path"},
      {"GET", "/api/state", "", 405, "takes POST"},
      {"DELETE", "/api/info", "", 405, "takes GET"},
  };
  for (const Bad& b : bad) {
    const Response r = handle_request(ex, b.method, b.path, b.body);
    INFO(b.method << " " << b.path << " " << b.body << " -> " << r.status << " " << r.body);
    CHECK(r.status == b.status);
    const json j = json::parse(r.body, nullptr, false);
    REQUIRE(j.is_object());
    REQUIRE(j["error"].is_string());
    CHECK(j["error"].get<std::string>().find(b.says) != std::string::npos);
  }
  const std::string big = "{\"moves\": \"" + std::string(kMaxBody, ' ') + "\"}";
  CHECK(handle_request(ex, "POST", "/api/state", big).status == 413);
  const Response many = handle_request(ex, "POST", "/api/state", json{{"moves", json(121, "f5")}}.dump());
  CHECK(many.status == 400);
  CHECK(many.body.find("'moves' has 121 entries") != std::string::npos);  // the cap, not the replay
}

TEST_CASE("explorer: a whole game with its passes written out is one game, as an array or a string") {
  // Random games with two forced passes in 60 moves are found within a few thousand.
  json moves = json::array();
  for (uint64_t i = 0; moves.empty() && i < 200000; ++i) {
    int n_passes = 0;
    const data::Game g = data::random_game_counted(11, i, &n_passes);
    if (g.length != 60 || n_passes < 2) continue;
    othello::Board b = othello::board_start();
    for (int t = 0; t < 60; ++t) {
      if (othello::get_moves(b) == 0) {
        b = othello::board_pass(b);
        moves.push_back("pass");
      }
      moves.push_back(othello::square_name(g.moves[t]));
      b = othello::board_next(b, g.moves[t]);
    }
  }
  REQUIRE(moves.size() >= 62);  // more entries than moves: the old cap of 61 refused it
  std::string text;
  for (auto& m : moves) text += m.get<std::string>() + " ";
  const json a = post("/api/state", {{"moves", moves}}), s = post("/api/state", {{"moves", text}});
  CHECK(a == s);
}

TEST_CASE("explorer: random and mutated requests never crash and always answer JSON") {
  Explorer& ex = shared();
  const std::string seeds[] = {"{\"moves\": \"f5 d6 c3\", \"upto\": 2}",
                               "{\"moves\": [\"f5\",\"d6\"], \"cell\": \"f5\", \"to\": \"empty\", \"method\": \"linear\"}",
                               "{\"moves\": \"f5\", \"layer\": 2, \"basis\": \"empty\", \"kind\": \"linear\"}"};
  const char* paths[] = {"/api/state", "/api/probe", "/api/intervene"};
  uint64_t x = 88172645463325252ull;
  auto rnd = [&] { return x ^= x << 13, x ^= x >> 7, x ^= x << 17; };
  int ok = 0;
  for (int i = 0; i < 400; ++i) {
    std::string body = seeds[rnd() % 3];
    for (int k = 0, n = 1 + int(rnd() % 4); k < n; ++k) {
      const size_t at = rnd() % (body.size() + 1);
      switch (rnd() % 3) {
        case 0: body.insert(at, 1, char(rnd() % 256)); break;
        case 1: if (at < body.size()) body.erase(at, 1); break;
        default: if (at < body.size()) body[at] = "{}[]\",:0123456789-e.aftnul "[rnd() % 27];
      }
    }
    const Response r = handle_request(ex, "POST", paths[rnd() % 3], body);
    INFO(body << " -> " << r.status << " " << r.body);
    REQUIRE(r.status != 500);
    const json j = json::parse(r.body, nullptr, false);
    REQUIRE(j.is_object());
    if (r.status != 200) CHECK(j["error"].is_string());
    ok += r.status == 200;
  }
  CHECK(ok > 0);  // some mutations stay valid requests
}

TEST_CASE("explorer: the page is served whole and loads nothing from elsewhere") {
  const Response r = handle_request(shared(), "GET", "/", "");
  REQUIRE(r.status == 200);
  CHECK(r.content_type.find("text/html") == 0);
  CHECK(r.body.find("<script>") != std::string::npos);
  CHECK(r.body.find("/api/intervene") != std::string::npos);
  CHECK(r.body.rfind("</html>") != std::string::npos);
  CHECK(r.body.find("src=\"http") == std::string::npos);
  CHECK(r.body.find("href=\"http") == std::string::npos);
  CHECK(r.body.find("@import") == std::string::npos);
  CHECK(handle_request(shared(), "GET", "/?x=1", "").status == 200);
}

TEST_CASE("explorer: concurrent requests give the answers of serial ones (model use is serialised)") {
  Explorer& ex = shared();
  const std::vector<std::pair<std::string, std::string>> reqs = {
      {"/api/state", R"({"moves": "f5 d6 c3 d3 c4"})"},
      {"/api/intervene", R"({"moves": "f5 d6 c3", "cell": "c3", "to": "empty", "layer": 2})"},
      {"/api/probe", R"({"moves": "f5 f6 e6 f4", "layer": 2})"},
      {"/api/state", R"({"moves": "f5 f6 e6 f4 e3", "upto": 4})"}};
  std::vector<std::string> serial;
  for (auto& [path, body] : reqs) serial.push_back(handle_request(ex, "POST", path, body).body);
  std::vector<std::string> got(reqs.size() * 3);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] { got[i] = handle_request(ex, "POST", reqs[i % reqs.size()].first, reqs[i % reqs.size()].second).body; });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == serial[i % reqs.size()]);
}
