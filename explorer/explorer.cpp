// The explorer's request handler: JSON in, calls of othello/, interventions/ and probes/, JSON out.
#include "explorer/explorer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "data/labels.hpp"
#include "data/text_games.hpp"
#include "interventions/cases.hpp"
#include "interventions/edit.hpp"
#include "interventions/load.hpp"
#include "othello/game_record.hpp"
#include "probes/activations.hpp"
#include "probes/probe_file.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"

namespace ogpt::explorer {

namespace fs = std::filesystem;
using nlohmann::json;
using othello::Bitboard;
using namespace ogpt::interventions;

// ---- loading -----------------------------------------------------------------------------------

namespace {

void check_fits(const LoadedProbe& lp, const model::Config& cfg) {
  const auto names = model::hook_names(cfg);
  const probes::Probe& p = lp.probe;
  if (std::find(names.begin(), names.end(), p.hook) == names.end())
    throw UserError(lp.file + ": probe reads " + p.hook + ", which the model (" + cfg.describe() + ") does not have");
  if (probes::hook_width(p.hook, cfg) != p.d)
    throw UserError(lp.file + ": probe reads " + std::to_string(p.d) + " features at " + p.hook + ", the model has " +
                    std::to_string(probes::hook_width(p.hook, cfg)));
}

}  // namespace

std::unique_ptr<Explorer> make_explorer(std::unique_ptr<model::GPT> gpt, std::vector<LoadedProbe> probes,
                                        std::string model_path) {
  auto ex = std::make_unique<Explorer>();
  ex->gpt = std::move(gpt);
  ex->model_path = std::move(model_path);
  for (auto& lp : probes) {
    check_fits(lp, ex->gpt->cfg());
    add_probe(ex->edit_probes, lp.probe);  // keeps the board-basis probes only
  }
  // Listed by kind, basis, layer: the order of the page's menus.
  std::stable_sort(probes.begin(), probes.end(), [](const LoadedProbe& a, const LoadedProbe& b) {
    return std::tie(a.probe.kind, a.probe.target, a.probe.layer) < std::tie(b.probe.kind, b.probe.target, b.probe.layer);
  });
  ex->probes = std::move(probes);
  return ex;
}

std::unique_ptr<Explorer> load_explorer(const std::string& model_arg, const std::string& probe_arg,
                                        const std::string& default_dir) {
  std::string model_path;
  auto gpt = interventions::load_gpt(model_arg, default_dir, 1, &model_path);
  const std::string path = probe_arg.empty() ? default_dir + "/probes" : probe_arg;
  std::vector<LoadedProbe> loaded;
  std::error_code ec;
  if (!probe_arg.empty() && !fs::exists(path, ec)) throw IoError(path + ": no such probe file or directory");
  for (const std::string& f : probes::probe_files_at(path)) loaded.push_back({f, probes::load_probe(f)});
  if (loaded.empty() && !probe_arg.empty()) throw UserError(path + ": no *.probe file in this directory");
  auto ex = make_explorer(std::move(gpt), std::move(loaded), model_path);
  ex->probe_path = ex->probes.empty() ? "" : path;
  return ex;
}

// ---- request parsing ---------------------------------------------------------------------------

namespace {

struct HttpError : std::runtime_error {
  int status;
  HttpError(int s, const std::string& m) : std::runtime_error(m), status(s) {}
};
[[noreturn]] void bad(const std::string& m) { throw HttpError(400, m); }

// Messages quote parts of the request: keep them one printable ASCII line of bounded length.
std::string clean(std::string_view s, size_t max = 300) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (s.size() > max) out += "...";
  return out;
}

json parse_body(std::string_view body, std::initializer_list<const char*> allowed) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) bad("the body is not valid JSON");
  if (!j.is_object()) bad("the body must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();  // (not a structured binding: clang 14 cannot capture one)
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      bad("unknown field '" + clean(k, 40) + "' (fields: " + list + ")");
    }
  }
  return j;
}

std::string get_string(const json& j, const char* key, const std::string& fallback, bool required = false) {
  if (!j.contains(key)) {
    if (required) bad(std::string("missing field '") + key + "'");
    return fallback;
  }
  if (!j[key].is_string()) bad(std::string("'") + key + "' must be a string");
  return j[key].get<std::string>();
}

int get_int(const json& j, const char* key, int fallback, int lo, int hi) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const json& v = j[key];
  if (!v.is_number_integer()) bad(std::string("'") + key + "' must be an integer");
  const bool neg = v.is_number_unsigned() ? false : v.get<int64_t>() < 0;
  const int64_t x = neg ? v.get<int64_t>() : int64_t(std::min<uint64_t>(v.get<uint64_t>(), uint64_t(1) << 40));
  if (x < lo || x > hi)
    bad(std::string("'") + key + "' must be in " + std::to_string(lo) + ".." + std::to_string(hi) + " (got " +
        std::to_string(x) + ")");
  return int(x);
}

// The game: "f5 d6 c3" or ["f5","d6","c3"], replayed by the engine (whose message names the
// move number and square of an illegal move).
std::vector<int> get_moves(const json& j) {
  if (!j.contains("moves")) return {};
  const json& m = j["moves"];
  std::string text;
  if (m.is_string()) {
    text = m.get<std::string>();
  } else if (m.is_array()) {
    // 60 moves and the forced passes between them (never two in a row), written out as "pass"
    if (m.size() > 120)
      bad("'moves' has " + std::to_string(m.size()) + " entries (a game has at most 60 moves and fewer passes)");
    for (auto& s : m) {
      if (!s.is_string()) bad("'moves' must be a string or an array of strings such as \"f5\"");
      text += s.get<std::string>() + " ";
    }
  } else {
    bad("'moves' must be a string (\"f5 d6 c3\") or an array of strings");
  }
  try {
    return othello::parse_game(text);
  } catch (const UserError& e) {
    bad(std::string("moves: ") + e.what());
  }
}

int get_square(const json& j, const char* key) {
  const std::string s = get_string(j, key, "", true);
  const int sq = othello::parse_square(s);
  if (sq < 0 || s.size() != 2) bad(std::string("'") + key + "': '" + clean(s, 20) + "' is not a square (a1..h8)");
  return sq;
}

std::vector<std::string> names(Bitboard b) {
  std::vector<std::string> v;
  for (int sq : othello::squares_of(b)) v.push_back(othello::square_name(sq));
  return v;
}

std::string board_string(const othello::Board& b) {
  std::string s(64, '.');
  for (int sq = 0; sq < 64; ++sq) s[sq] = (b.black() >> sq & 1) ? 'B' : (b.white() >> sq & 1) ? 'W' : '.';
  return s;
}

// A game prefix and where it stands.
struct Position {
  std::vector<int> moves;  // the whole game sent
  std::vector<int> prefix; // the first `upto` moves
  int upto = 0;
  othello::Board board;    // after the prefix; side to move = who plays next (after a forced pass)
  bool game_over = false;
};

Position get_position(const json& j) {
  Position p;
  p.moves = get_moves(j);
  p.upto = get_int(j, "upto", int(p.moves.size()), 0, int(p.moves.size()));
  p.prefix.assign(p.moves.begin(), p.moves.begin() + p.upto);
  p.board = othello::replay(p.prefix).back();
  p.game_over = othello::is_game_over(p.board);
  return p;
}

// The model reads 1..n_ctx moves; say why not otherwise.
std::string why_no_model(const Position& p, const model::Config& cfg) {
  if (p.upto == 0) return "the model predicts from the first move on: play or paste a move";
  if (p.upto > cfg.n_ctx) return "the model reads at most " + std::to_string(cfg.n_ctx) + " moves";
  return "";
}

// The token positions a probe was fitted on ("all", "5:54", ...); null where it does not record them.
json positions_json(const probes::Probe& p) {
  return p.info.positions.empty() ? json(nullptr) : json(p.info.positions);
}

// Predicted squares best first, the probability of every move square, as the page shows them.
json prediction_json(const Prediction& pr, Bitboard predicted) {
  json probs = json::object();
  for (int sq = 0; sq < 64; ++sq)
    if (!othello::is_centre(sq)) probs[othello::square_name(sq)] = pr.probs[sq];
  std::vector<int> sq;
  for (int s : othello::squares_of(predicted)) sq.push_back(s);
  std::stable_sort(sq.begin(), sq.end(), [&](int a, int b) { return pr.probs[a] > pr.probs[b]; });
  json order = json::array();
  for (int s : sq) order.push_back(othello::square_name(s));
  return {{"probabilities", probs}, {"predicted", order}};
}

// ---- the endpoints -----------------------------------------------------------------------------

json api_info(Explorer& ex) {
  const model::Config& cfg = ex.gpt->cfg();
  json probes = json::array();
  for (auto& lp : ex.probes)
    probes.push_back({{"layer", lp.probe.layer},
                      {"basis", probes::target_name(lp.probe.target)},
                      {"kind", probes::kind_name(lp.probe.kind)},
                      {"hook", lp.probe.hook},
                      {"file", lp.file},
                      {"classes", probes::class_names(lp.probe.target)},
                      {"test_accuracy", lp.probe.info.test_accuracy},
                      {"positions", positions_json(lp.probe)}});
  json methods = json::object();
  if (!ex.edit_probes.empty())
    for (Method m : {Method::linear, Method::gradient}) {
      json layers = json::array();
      for (auto& [l, p] : probes_for(ex.edit_probes, m)) layers.push_back(l);
      if (layers.empty()) continue;
      methods[method_name(m)] = {{"layers", layers}, {"default", default_layer(m, ex.edit_probes, cfg.n_layers)}};
    }
  return {{"model", {{"path", ex.model_path}, {"describe", cfg.describe()}, {"n_layers", cfg.n_layers},
                     {"d_model", cfg.d_model}, {"n_ctx", cfg.n_ctx}}},
          {"probe_path", ex.probe_path},
          {"probes", probes},
          {"intervene", methods},
          {"max_body", kMaxBody}};
}

json api_state(Explorer& ex, std::string_view body) {
  const json j = parse_body(body, {"moves", "upto"});
  const Position p = get_position(j);
  const Bitboard legal = othello::get_moves(p.board);
  const othello::Score score = othello::get_score(p.board);
  json moves = json::array();
  for (int m : p.moves) moves.push_back(othello::square_name(m));
  json out = {{"moves", moves},
              {"upto", p.upto},
              {"board", board_string(p.board)},
              {"to_move", p.game_over ? json(nullptr) : json(othello::color_name(p.board.to_move))},
              {"game_over", p.game_over},
              {"legal", names(legal)},
              {"score", {{"black", score.black}, {"white", score.white}}},
              {"last_move", p.upto ? json(othello::square_name(p.prefix.back())) : json(nullptr)},
              {"model", nullptr}};
  if (p.upto > 0) {
    const auto boards = othello::replay(p.prefix);
    const othello::Board& b = boards[p.upto - 1];
    out["flipped"] = names(othello::get_flips(b, p.prefix.back()));
  } else {
    out["flipped"] = json::array();
  }
  std::string why = why_no_model(p, ex.gpt->cfg());
  if (why.empty() && p.game_over) why = "the game is over";
  if (!why.empty()) {
    out["model_note"] = why;
    return out;
  }
  Prediction pr;
  {
    std::lock_guard<std::mutex> lock(ex.mutex);
    pr = run_model(*ex.gpt, {p.prefix}, ex.edit_probes, {}, {}, {})[0];
  }
  const int n = std::popcount(legal);
  const Bitboard predicted = top_n_squares(pr.probs, n);
  json m = prediction_json(pr, predicted);
  double p_legal = 0;
  for (int sq : othello::squares_of(legal)) p_legal += pr.probs[sq];
  m["p_legal"] = p_legal;
  m["top1"] = othello::square_name(std::countr_zero(top_n_squares(pr.probs, 1)));
  m["errors"] = count_errors(predicted, legal);
  out["model"] = m;
  return out;
}

const LoadedProbe& find_probe(const Explorer& ex, int layer, const std::string& basis, const std::string& kind) {
  if (ex.probes.empty()) bad("no probes are loaded (start the server with --probe FILE|DIR)");
  probes::Target t;
  probes::Kind k;
  try {
    t = probes::parse_target(basis);
    k = probes::parse_kind(kind);
  } catch (const UserError& e) {
    bad(e.what());
  }
  for (auto& lp : ex.probes)
    if (lp.probe.layer == layer && lp.probe.target == t && lp.probe.kind == k) return lp;
  std::string have;
  for (auto& lp : ex.probes)
    have += (have.empty() ? "" : ", ") + std::string(probes::kind_name(lp.probe.kind)) + " " +
            probes::target_name(lp.probe.target) + " L" + std::to_string(lp.probe.layer);
  bad(std::string("no ") + probes::kind_name(k) + " " + probes::target_name(t) + " probe at layer " +
      std::to_string(layer) + " (loaded: " + have + ")");
}

json api_probe(Explorer& ex, std::string_view body) {
  const json j = parse_body(body, {"moves", "upto", "layer", "basis", "kind"});
  const Position p = get_position(j);
  const int first_layer = ex.probes.empty() ? 0 : ex.probes.front().probe.layer;
  const LoadedProbe& lp = find_probe(ex, get_int(j, "layer", first_layer, 0, 1000),
                                     get_string(j, "basis", "mine-theirs"), get_string(j, "kind", "linear"));
  const probes::Probe& pb = lp.probe;
  const std::string why = why_no_model(p, ex.gpt->cfg());
  if (!why.empty()) bad("cannot read a probe here: " + why);
  const model::Config& cfg = ex.gpt->cfg();
  arma::fvec logits;
  {
    std::lock_guard<std::mutex> lock(ex.mutex);
    std::vector<uint8_t> tokens(cfg.n_ctx, 0);
    for (int t = 0; t < p.upto; ++t) tokens[t] = uint8_t(othello::square_to_token(p.prefix[t]));
    model::Hooks hooks;
    hooks.cache_names.insert(pb.hook);
    ex.gpt->forward(tokens.data(), nullptr, 1, &hooks);
    const model::Tensor& act = hooks.cache.at(pb.hook);
    logits = probe_logits(pb, act.data.data() + size_t(p.upto - 1) * pb.d);
  }
  // The truth in the probe's basis: the engine's labels of this position.
  data::PositionLabels lab[60];
  data::label_game(data::game_from_squares(p.prefix), lab);
  const data::PositionLabels& L = lab[p.upto - 1];
  json truth = json::array(), reading = json::array(), conf = json::array();
  int right = 0;
  for (int s = 0; s < 64; ++s) {
    int y = 0;
    switch (pb.target) {
      case probes::Target::black_white: y = L.black_white[s]; break;
      case probes::Target::mine_theirs: y = L.mine_theirs[s]; break;
      case probes::Target::empty: y = int(L.empty >> s & 1); break;
      case probes::Target::flipped: y = int(L.flipped >> s & 1); break;
      case probes::Target::legal: y = int(L.legal >> s & 1); break;
    }
    const float* z = logits.memptr() + s * pb.C;
    const int k = int(std::max_element(z, z + pb.C) - z);
    double sum = 0;
    for (int c = 0; c < pb.C; ++c) sum += std::exp(double(z[c]) - z[k]);
    truth.push_back(y);
    reading.push_back(k);
    conf.push_back(1.0 / sum);
    right += k == y;
  }
  // Outside the positions the probe was fitted on, its reading is an extrapolation: say so.
  const std::optional<bool> fitted = probes::in_positions(pb.info.positions, p.upto - 1, cfg.n_ctx);
  return {{"layer", pb.layer},       {"basis", probes::target_name(pb.target)},
          {"kind", probes::kind_name(pb.kind)}, {"hook", pb.hook},
          {"classes", probes::class_names(pb.target)},
          {"upto", p.upto},          {"board", board_string(p.board)},
          {"to_move", othello::color_name(L.to_move)},
          {"truth", truth},          {"reading", reading},
          {"confidence", conf},      {"correct", right},
          {"positions", positions_json(pb)},
          {"fitted_position", fitted ? json(*fitted) : json(nullptr)}};
}

json api_intervene(Explorer& ex, std::string_view body) {
  const json j = parse_body(body, {"moves", "upto", "cell", "to", "method", "layer", "positions"});
  const Position p = get_position(j);
  const int cell = get_square(j, "cell");
  CellState target;
  Method method;
  Positions positions;
  try {
    target = parse_cell_state(get_string(j, "to", "", true));
    method = parse_method(get_string(j, "method", "linear"));
    positions = interventions::parse_positions(get_string(j, "positions", "last"));
  } catch (const UserError& e) {
    bad(e.what());
  }
  if (ex.edit_probes.empty())
    bad("no board probes (mine-theirs or black-white) are loaded: start the server with --probe FILE|DIR");
  const model::Config& cfg = ex.gpt->cfg();
  const std::string why = why_no_model(p, cfg);
  if (!why.empty()) bad("cannot intervene here: " + why);
  InterventionOptions opt;
  opt.method = method;
  opt.layer = get_int(j, "layer", -1, -1, 1000);
  opt.positions = positions;  // the last position (the papers'), or every one since the cell changed
  opt.linear.scale = default_scale(positions);
  const GroundTruth truth = get_ground_truth(p.prefix, cell, target);
  if (!truth.usable) bad("cannot test this edit: " + truth.why_not);
  const int start = opt.layer >= 0 ? opt.layer : default_layer(method, ex.edit_probes, cfg.n_layers);
  json layers = json::array();
  for (auto& [l, pr] : probes_for(ex.edit_probes, method))
    if (l >= start) layers.push_back(l);
  CaseResult r;
  {
    std::lock_guard<std::mutex> lock(ex.mutex);
    try {
      r = run_cases(*ex.gpt, ex.edit_probes, {EditCase{p.prefix, cell, target}}, opt)[0];
    } catch (const UserError& e) {  // e.g. no probe at that layer: names the layers there are
      bad(e.what());
    }
  }
  auto side = [](const othello::Board& b, Bitboard legal, const Prediction& pr, Bitboard predicted) {
    json s = prediction_json(pr, predicted);
    s["board"] = board_string(b);
    s["legal"] = names(legal);
    return s;
  };
  return {{"cell", othello::square_name(cell)},
          {"from", cell_state_name(get_cell_state(truth.before, cell))},
          {"to", cell_state_name(target)},
          {"to_move", othello::color_name(truth.before.to_move)},
          {"method", method_name(method)},
          {"positions", positions_name(positions)},
          {"layers", layers},
          {"upto", p.upto},
          {"before", side(truth.before, truth.legal_before, r.before, r.predicted_before)},
          {"after", side(truth.after, truth.legal_after, r.after, r.predicted_after)},
          {"errors", r.errors},
          {"false_positives", names(r.predicted_after & ~truth.legal_after)},
          {"false_negatives", names(truth.legal_after & ~r.predicted_after)},
          {"null_errors", r.null_errors},
          {"null_predicted", names(r.null_predicted)},
          {"pass", r.errors == 0}};
}

Response error_response(int status, const std::string& msg) {
  return {status, util::json_text(json{{"error", clean(msg)}}) + "\n", "application/json"};
}

}  // namespace

Response handle_request(Explorer& ex, std::string_view method, std::string_view path, std::string_view body) {
  try {
    const size_t q = path.find('?');
    if (q != std::string_view::npos) path = path.substr(0, q);
    const bool get = method == "GET" || method == "HEAD", post = method == "POST";
    struct Route {
      std::string_view path;
      bool post;
    };
    static const Route routes[] = {{"/", false}, {"/index.html", false}, {"/api/info", false},
                                   {"/api/state", true}, {"/api/probe", true}, {"/api/intervene", true}};
    const Route* route = nullptr;
    for (auto& r : routes)
      if (r.path == path) route = &r;
    if (!route) return error_response(404, "no such path '" + clean(path, 80) + "' (the API: GET /api/info, POST "
                                           "/api/state, /api/probe, /api/intervene)");
    if (route->post ? !post : !get)
      return error_response(405, std::string(path) + " takes " + (route->post ? "POST" : "GET") + ", not " +
                                     clean(method, 16));
    if (body.size() > kMaxBody)
      return error_response(413, "request body of " + std::to_string(body.size()) + " bytes (at most " +
                                     std::to_string(kMaxBody) + ")");
    if (path == "/" || path == "/index.html") return {200, std::string(page_html()), "text/html; charset=utf-8"};
    json out;
    if (path == "/api/info") out = api_info(ex);
    else if (path == "/api/state") out = api_state(ex, body);
    else if (path == "/api/probe") out = api_probe(ex, body);
    else out = api_intervene(ex, body);
    return {200, util::json_text(out) + "\n", "application/json"};
  } catch (const HttpError& e) {
    return error_response(e.status, e.what());
  } catch (const UserError& e) {
    return error_response(400, e.what());
  } catch (const json::exception& e) {
    return error_response(400, std::string("bad request: ") + e.what());
  } catch (const std::exception& e) {
    return error_response(500, std::string("internal error (a bug): ") + e.what());
  }
}

}  // namespace ogpt::explorer
