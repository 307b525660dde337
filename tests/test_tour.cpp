// `othello-gpt tour --quick` end to end on a small trained model (2x64, trained here for a few
// seconds, with linear probes trained on it): the report has every section and closed SVGs,
// the numbers it shows are the --json summary's, the sweep rows are what probes::run_sweep gives
// for the same games and options, the write is atomic, and a missing model or probe directory
// is refused with a clear message and a nonzero exit code.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "model/checkpoint.hpp"
#include "model/config.hpp"
#include "probes/activations.hpp"
#include "probes/experiment.hpp"
#include "probes/probe_file.hpp"
#include "report/tour.hpp"
#include "tests/cli_run.hpp"
#include "tests/temp_dir.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using ogpt::test::run_cli;

namespace {

using ogpt::test::TempDir;

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// The text of the element with id="id" (a <span class="num">), or "" when absent.
std::string by_id(const std::string& html, const std::string& id) {
  const std::string key = "id=\"" + id + "\">";
  const size_t p = html.find(key);
  if (p == std::string::npos) return "";
  const size_t b = p + key.size();
  return html.substr(b, html.find('<', b) - b);
}

// A 2x64 model trained for a few seconds, with linear mine/theirs probes at layers 1 and 2.
void make_trained_model(const TempDir& d) {
  int rc = -1;
  run_cli("train --preset 2x64 --batch 32 --games 3200 --val-games 16 --threads 1 --lr 3e-3 --val-every 0 --out " +
              d.str("run") + " --json",
          &rc);
  REQUIRE(rc == 0);
  const ogpt::model::LoadedCheckpoint ck = ogpt::model::load_checkpoint(d.str("run/latest.ckpt"));
  fs::create_directories(d.path / "run" / "probes");
  std::vector<ogpt::data::Game> games(200);
  ogpt::data::generate_games(99, 0, games.size(), games.data());
  ogpt::probes::ExtractOptions ex;
  ex.hooks = {"blocks.0.hook_resid_post", "blocks.1.hook_resid_post"};
  const auto act = ogpt::probes::extract_activations(ck.params, games, ex);
  const auto y = ogpt::probes::make_targets(act, ogpt::probes::Target::mine_theirs);
  const auto split = ogpt::probes::split_by_game(act.game_offset);
  for (int layer = 1; layer <= 2; ++layer) {
    auto to = ogpt::probes::default_train_options(ogpt::probes::Kind::linear);
    to.min_steps = 60;
    to.batch = 1024;
    const auto f = ogpt::probes::fit_probe(act, ex.hooks[layer - 1], y, ogpt::probes::Target::mine_theirs,
                                           ogpt::probes::Kind::linear, 0, to, split);
    ogpt::probes::save_probe(d.str("run/probes/linear-mine-theirs-L" + std::to_string(layer) + ".probe"), f.probe);
  }
  // A model card with a curve, as the shipped model has.
  ogpt::util::write_file_atomic(d.str("run/card.json"),
                                R"({"preset":"2x64","seed":1,"games_seen":3200,"curve_svg":"curve.svg",)"
                                R"("heldout":{"seed":5,"games":16,"legal_top1":0.5},)"
                                R"("probes":{"test_accuracy_by_layer":{"linear mine-theirs":[0.61,0.625]}}})");
}

}  // namespace

TEST_CASE("tour: --quick report on a small trained model matches its JSON and a direct sweep") {
  TempDir d("tour_quick");
  make_trained_model(d);
  // The report goes into the --figures directory, which the tour creates before it checks --out.
  const std::string html_path = d.str("figs/new") + "/report.html";
  int rc = -1;
  const std::string out = run_cli("tour --quick -q --json --seed 4242 --model " + d.str("run") + " --out " + html_path +
                                  " --figures " + d.str("figs/new"), &rc);
  REQUIRE(rc == 0);
  const json j = json::parse(out);
  const std::string html = ogpt::util::read_file(html_path);
  CHECK(j["report"] == html_path);

  // --figures: the report's pictures as stand-alone files (a directory created for them), each
  // the very drawing the report shows (the sweep plot there with its ids scoped).
  REQUIRE(j["figures"].size() == 3);
  for (const char* name : {"probe-sweep.svg", "intervention-bench.svg", "saliency.svg"}) {
    CAPTURE(name);
    const std::string path = d.str("figs/new") + "/" + name;
    CHECK(std::find(j["figures"].begin(), j["figures"].end(), path) != j["figures"].end());
    const std::string svg = ogpt::util::read_file(path);
    CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
    CHECK(count(svg, "<svg") == 1);
    CHECK(count(svg, "</svg>") == 1);
    const std::string shown =
        std::string(name) == "probe-sweep.svg" ? ogpt::report::scope_svg_ids(svg, "sweep-plot-") : svg;
    CHECK(html.find(shown) != std::string::npos);
  }

  // Well-formed enough: one document, every section, every SVG closed, nothing external.
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(count(html, "</html>") == 1);
  for (const char* id : {"about", "card", "game", "sweep", "intervention", "saliency", "method"})
    CHECK_MESSAGE(html.find(std::string("id=\"") + id + "\"") != std::string::npos, id);
  CHECK(count(html, "<svg") >= 6);  // curve, position, plot, 3 cell boards, bench, 2 example boards, saliency
  CHECK(count(html, "<svg") == count(html, "</svg>"));
  CHECK(count(html, "<table") == count(html, "</table>"));
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find(" src=") == std::string::npos);
  CHECK(html.find("href=\"http") == std::string::npos);
  // The card and the curve `train` wrote are shown; the curve's ids are scoped (no clash with the
  // sweep plot's clip paths).
  CHECK(html.find("From the model card") != std::string::npos);
  CHECK(html.find("L1 61.00% &middot; L2 62.50%") != std::string::npos);
  CHECK(html.find("Training curve (from the training run)") != std::string::npos);
  CHECK(html.find("id=\"card-clip0\"") != std::string::npos);
  CHECK(html.find("id=\"sweep-plot-clip0\"") != std::string::npos);
  CHECK(count(html, "id=\"clip0\"") == 0);

  // The numbers in the HTML are the JSON summary's.
  const json& s = j["sweep"];
  REQUIRE(s["rows"].size() == 2 * 3 * 4);  // 2 models x 3 depths (2 layers + embeddings) x 2 bases x 2 kinds
  CHECK(by_id(html, "sweep-games") == std::to_string(s["games"].get<int>()));
  CHECK(by_id(html, "sweep-positions") == std::to_string(s["positions"].get<int>()));
  CHECK(s["games"] == 60);
  for (auto& r : s["rows"]) {
    const double acc = r["accuracy"].get<double>();
    CHECK(acc > 0.2);
    CHECK(acc <= 1.0);
    CHECK(r["majority_baseline"].get<double>() > 0.3);
    CHECK(by_id(html, r["id"].get<std::string>()) == ogpt::report::fmt_pct(acc));
    REQUIRE(r["cell_accuracy"].size() == 64);
    double mean = 0;
    for (auto& c : r["cell_accuracy"]) mean += c.get<double>() / 64;
    CHECK(mean == doctest::Approx(acc).epsilon(1e-9));  // every cell has every position
  }
  const json& b = j["bench"];
  REQUIRE(b["rows"].size() == 8);  // {linear, gradient} x {flip, erase} x {reachable, unreachable}
  int cases = 0;
  for (auto& r : b["rows"]) {
    if (r["method"] == "linear") cases += r["cases"].get<int>();
    CHECK(r["errors_mean"].get<double>() >= 0);
    CHECK(r["null_mean"].get<double>() >= 1.0);  // every case changes the legal set
    CHECK(by_id(html, r["id"].get<std::string>()) == ogpt::report::fmt_err(r["errors_mean"].get<double>()));
    const std::string id = r["id"].get<std::string>();
    CHECK(by_id(html, id.substr(0, id.size() - 6) + "null") == ogpt::report::fmt_err(r["null_mean"].get<double>()));
    CHECK(by_id(html, id.substr(0, id.size() - 6) + "unedited") ==
          ogpt::report::fmt_err(r["unedited_mean"].get<double>()));
    CHECK(r["unedited_mean"].get<double>() >= 0);
  }
  CHECK(cases == b["cases"].get<int>());
  CHECK(cases == 16);
  REQUIRE(b.contains("example"));
  CHECK(by_id(html, "example-errors") == std::to_string(b["example"]["errors"].get<int>()));
  CHECK(by_id(html, "eval-legal-top1") == ogpt::report::fmt_pct(j["game"]["eval"]["legal_top1"].get<double>()));
  CHECK(j["game"]["legal"].size() == j["game"]["predicted"].size());
  CHECK(j["game"]["topn_exact"] == (j["game"]["errors"] == 0));
  CHECK(j["saliency"]["cells"].size() >= 4);

  // The sweep rows are probes::run_sweep's for the same games and options.
  ogpt::report::TourOptions o;
  o.seed = 4242;
  ogpt::report::apply_quick(o);
  const auto ck = ogpt::model::load_checkpoint(d.str("run/latest.ckpt"));
  const auto rows = ogpt::probes::run_sweep(ck.params, ogpt::report::tour_games(o.seed, o.games),
                                            ogpt::report::sweep_options(o));
  REQUIRE(rows.size() == s["rows"].size());
  for (size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    CHECK(s["rows"][i]["id"] == ogpt::report::sweep_cell_id(rows[i]));
    CHECK(s["rows"][i]["accuracy"].get<double>() == doctest::Approx(rows[i].accuracy).epsilon(1e-3));
    CHECK(s["rows"][i]["majority_baseline"].get<double>() == doctest::Approx(rows[i].baseline).epsilon(1e-12));
  }

  // The text run: the four steps in order, the positions used, the report's path last; the
  // report is replaced whole.
  const std::string text =
      run_cli("tour --quick -q --seed 4242 --linear-only --model " + d.str("run") + " --out " + html_path, &rc);
  REQUIRE(rc == 0);
  const size_t s1 = text.find("Step 1."), s2 = text.find("Step 2."), s3 = text.find("Step 3."), s4 = text.find("Step 4.");
  CHECK(s1 < s2);
  CHECK(s2 < s3);
  CHECK(s3 < s4);
  CHECK(s4 != std::string::npos);
  CHECK(text.find("60 fresh games = " + std::to_string(s["positions"].get<int>()) + " positions") != std::string::npos);
  CHECK(text.find("top-1 legal") != std::string::npos);
  CHECK(text.substr(text.rfind("wrote ")) == "wrote " + html_path + "\n");
  const std::string html2 = ogpt::util::read_file(html_path);
  CHECK(html2 != html);  // --linear-only: no gradient rows this time
  CHECK(html2.find("bench-gradient-flip-reachable-errors") == std::string::npos);
  CHECK(count(html2, "</html>") == 1);

  // The atomic write leaves no temporary file beside the report.
  for (auto& e : fs::directory_iterator(d.path))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp") == std::string::npos, e.path().string());
}

TEST_CASE("tour: --figures onto a file is refused before any work") {
  TempDir d("tour_figures_file");
  ogpt::util::write_file_atomic(d.str("taken"), "keep me");
  int rc = -1;
  // No model here either: the --figures check comes first, so the message is about it.
  const std::string err = run_cli("tour --quick -q --model " + d.str("nope") + " --figures " + d.str("taken") +
                                  " --out " + d.str("r.html"), &rc, true);
  CHECK(rc == ogpt::kIo);
  CHECK(err.find(d.str("taken") + ": exists and is not a directory") != std::string::npos);
  CHECK(ogpt::util::read_file(d.str("taken")) == "keep me");
  CHECK(!fs::exists(d.str("r.html")));
}

TEST_CASE("tour: a missing model or missing probes is refused with the path and how to get them") {
  TempDir d("tour_missing");
  int rc = -1;
  std::string err = run_cli("tour --quick -q --model " + d.str("nope") + " --out " + d.str("r.html"), &rc, true);
  CHECK(rc == 4);
  CHECK(err.find(d.str("nope")) != std::string::npos);
  CHECK(!fs::exists(d.str("r.html")));
  // A model without probes beside it.
  ogpt::model::ParamBlock p(ogpt::model::preset("2x64"));
  ogpt::model::init_params(p, 3);
  ogpt::model::save_checkpoint(d.str("model.ckpt"), p, ogpt::model::WeightDtype::f32);
  err = run_cli("tour --quick -q --model " + d.str() + " --out " + d.str("r.html"), &rc, true);
  CHECK(rc == 4);
  CHECK(err.find(d.str("probes")) != std::string::npos);
  CHECK(err.find("probe train") != std::string::npos);
  CHECK(!fs::exists(d.str("r.html")));
  // Too few games for a split.
  run_cli("tour --games 3 --model " + d.str(), &rc);
  CHECK(rc == 2);
}

TEST_CASE("tour: the model card is optional, its curve must be a plain SVG beside it") {
  TempDir d("tour_card");
  ogpt::report::ModelCard c = ogpt::report::load_card(d.str());
  CHECK(!c.found);
  CHECK(c.note.find(d.str("card.json")) != std::string::npos);
  CHECK(c.note.find(d.str("curve.svg")) != std::string::npos);
  ogpt::util::write_file_atomic(d.str("card.json"), "{not json");
  c = ogpt::report::load_card(d.str());
  CHECK(!c.found);
  CHECK(c.note.find("could not be read") != std::string::npos);
  ogpt::util::write_file_atomic(d.str("card.json"), R"({"seed": 3, "curve_svg": "../x.svg"})");
  c = ogpt::report::load_card(d.str());
  CHECK(c.found);
  CHECK(c.curve_svg.empty());
  ogpt::util::write_file_atomic(d.str("card.json"), R"({"seed": 3})");
  c = ogpt::report::load_card(d.str());
  CHECK(c.found);
  CHECK(c.note.find("no training curve") != std::string::npos);
  ogpt::util::write_file_atomic(d.str("curve.svg"), "<?xml version=\"1.0\"?>\n<svg><script>x</script></svg>");
  CHECK(ogpt::report::load_card(d.str()).curve_svg.empty());
  ogpt::util::write_file_atomic(d.str("curve.svg"), "<?xml version=\"1.0\"?>\n<svg a=\"1\"><g id=\"k\"/><use href=\"#k\"/></svg>\n");
  c = ogpt::report::load_card(d.str());
  CHECK(c.curve_svg == "<svg a=\"1\"><g id=\"k\"/><use href=\"#k\"/></svg>");
  CHECK(ogpt::report::scope_svg_ids(c.curve_svg, "p-") == "<svg a=\"1\"><g id=\"p-k\"/><use href=\"#p-k\"/></svg>");
  // Not a plain picture in any spelling: scripts in any case, any event handler, links out.
  for (const char* bad : {"<svg onmouseover=\"alert(1)\"><rect/></svg>", "<svg><SCRIPT>x</SCRIPT></svg>",
                          "<svg><rect ONLOAD = \"x()\"/></svg>", "<svg/onload=alert(1)></svg>", "<svg><a href=\"#k\"><text>x</text></a></svg>",
                          "<svg><use href=\"javascript:alert(2)\"/></svg>", "<svg><image href=\"x.png\"/></svg>",
                          "<svg><rect fill=\"url(http://x/y)\"/></svg>", "<svg><foreignObject/></svg>"})
    CHECK_MESSAGE(ogpt::report::inline_svg(bad).empty(), bad);
  // What the project's own plots are made of passes whole.
  const std::string shipped = ogpt::util::read_file(std::string(OGPT_SOURCE_DIR) + "/data/default/curve.svg");
  CHECK(ogpt::report::inline_svg(shipped).size() > 1000);
  CHECK(shipped.find(ogpt::report::inline_svg(shipped)) != std::string::npos);
  // A training run directory: a curve, no card.
  fs::remove(d.str("card.json"));
  c = ogpt::report::load_card(d.str());
  CHECK(!c.found);
  CHECK(!c.curve_svg.empty());
}
