#pragma once
// The interactive explorer behind `othello-gpt serve`: a model, its probes, and a small JSON API
// that a self-contained web page (explorer/page.cpp) calls. No science lives here: each request
// is translated into calls of othello/ (the true board and legal moves), interventions/
// (run_model, run_cases: the model's next-move distribution before and after an edit) and
// probes/ (a probe's reading of one activation).
//
// The request handler is a pure function of (method, path, body) and the loaded model, so tests
// and the fuzzer drive it without sockets; explorer/server.hpp only wires it to cpp-httplib.
//
// API (every request is independent; squares in standard notation, a1..h8; a board is a 64-char
// string indexed by square, a1 first: '.' empty, 'B' black, 'W' white):
//   GET  /                 the page (HTML + CSS + JS, nothing fetched from elsewhere)
//   GET  /api/info         model, probes, intervention methods and their layers
//   POST /api/state        {moves, upto?}            -> board, to_move, legal, model probabilities
//   POST /api/probe        {moves, upto?, layer, basis?, kind?} -> the probe's reading beside the truth
//   POST /api/intervene    {moves, upto?, cell, to, method?, layer?, positions?} -> before/after legal and
//                          predicted sets, errors and null errors, the edited board
// moves: "f5 d6 c3" (any separators) or ["f5","d6","c3"]; upto: how many of them to play
// (default all). Errors: 400 (bad JSON, wrong types, unknown fields or squares, illegal moves:
// the message names the move number and square), 404 unknown path, 405 wrong method, 413 body
// too large, each with {"error": "..."}; 500 only for a bug.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "interventions/intervene.hpp"
#include "model/gpt.hpp"
#include "probes/probe.hpp"

namespace ogpt::explorer {

// Requests whose body is larger than this are refused with 413 (the largest real request is a
// 60-move game, well under 1 KiB).
inline constexpr size_t kMaxBody = 16 * 1024;

struct LoadedProbe {
  std::string file;  // where it came from (for /api/info)
  probes::Probe probe;
};

// Everything the handler reads. The model's forward pass is not thread-safe: handle_request
// holds `mutex` around every use of gpt.
struct Explorer {
  std::unique_ptr<model::GPT> gpt;
  std::string model_path;                // for /api/info
  std::vector<LoadedProbe> probes;       // every probe loaded, any basis (the probe panel)
  interventions::ProbeSet edit_probes;   // the board-basis ones (interventions)
  std::string probe_path;
  std::mutex mutex;
};

// Loads the model (f32 forward, as the intervention commands) and the probes: a probe file or a
// directory of *.probe files. probe_arg empty: default_dir/probes if it exists, else no probes
// (the page then offers play and the heatmap only). Probes that do not fit the model (hook or
// width) are refused with a UserError naming the file.
std::unique_ptr<Explorer> load_explorer(const std::string& model_arg, const std::string& probe_arg,
                                        const std::string& default_dir);
// For tests and the fuzzer: an explorer around a model and probes already in memory.
std::unique_ptr<Explorer> make_explorer(std::unique_ptr<model::GPT> gpt, std::vector<LoadedProbe> probes,
                                        std::string model_path = "(in memory)");

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// The whole request-handling core. Never throws: bad requests get a 4xx with {"error": "..."}
// (a one-line message with no control characters), and an unexpected exception a 500.
Response handle_request(Explorer& ex, std::string_view method, std::string_view path, std::string_view body);

// The page served at "/" (explorer/page.cpp).
std::string_view page_html();

}  // namespace ogpt::explorer
