// Option values and inputs that parse but mean nothing: each must be refused with a one-line
// message and a non-zero exit code, never run as something else (NaN results, an empty table,
// a crash, a silently clamped value, output lost on a full disk).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/game_file.hpp"
#include "data/generate.hpp"
#include "interventions/case_file.hpp"
#include "model/checkpoint.hpp"
#include "model/config.hpp"
#include "model/params.hpp"
#include "tests/cli_run.hpp"
#include "tests/temp_dir.hpp"
#include "util/error.hpp"

using ogpt::test::run_cli;
using ogpt::test::TempDir;

namespace {
const std::string kShipped = std::string(OGPT_SOURCE_DIR) + "/data/default";

// Exit code and merged output of one command line.
struct Ran {
  int rc;
  std::string out;
};
Ran ran(const std::string& args) {
  Ran r{-1, ""};
  r.out = run_cli(args, &r.rc, true);
  return r;
}

void expect_refused(const std::string& args, int rc, const std::string& needle) {
  const Ran r = ran(args);
  INFO("othello-gpt " << args << "\n" << r.out);
  CHECK(r.rc == rc);
  CHECK(r.out.find(needle) != std::string::npos);
  CHECK(r.out.find("internal error") == std::string::npos);
}

std::string tiny_model(const TempDir& t, const std::string& name, int n_ctx, bool poison) {
  ogpt::model::Config c = ogpt::model::preset("2x64");
  c.n_ctx = n_ctx;
  ogpt::model::ParamBlock p(c);
  ogpt::model::init_params(p, 1);
  if (poison) p.data[12345] = NAN;
  const std::string path = t.str(name);
  ogpt::model::save_checkpoint(path, p, ogpt::model::WeightDtype::f32);
  return path;
}

std::string some_games(const TempDir& t, int n) {
  std::vector<ogpt::data::Game> g(n);
  ogpt::data::generate_games(5, 0, g.size(), g.data());
  std::string name = "g";  // (built in steps: gcc 12 warns falsely on "g" + to_string(n) + ...)
  name += std::to_string(n);
  name += ".games";
  const std::string path = t.str(name);
  ogpt::data::write_games(path, g);
  return path;
}
}  // namespace

TEST_CASE("refusals: models the game commands cannot feed, or whose weights are not finite") {
  TempDir t("refuse_models");
  // A context of 5 would have overrun eval's token buffer (59 tokens a game).
  const std::string ctx5 = tiny_model(t, "ctx5.ckpt", 5, false);
  expect_refused("eval --model " + ctx5 + " --random 2", 3, "context 5");
  expect_refused("predict --model " + ctx5 + " --moves f5", 3, "Othello-GPT games need context 59");
  // NaN weights pass the checksum (a diverged run); every prediction would be NaN.
  const std::string nan = tiny_model(t, "nan.ckpt", 59, true);
  expect_refused("predict --model " + nan + " --moves f5", 3, "non-finite");
  // and the same model without the NaN is accepted: the check is about the value
  const std::string ok = tiny_model(t, "ok.ckpt", 59, false);
  CHECK(ran("predict --model " + ok + " --moves f5 --json").rc == 0);
}

TEST_CASE("refusals: non-finite, negative and out-of-range option values") {
  const std::string m = "--moves \"f5 d6 c3 d3\" ";
  expect_refused("intervene " + m + "--cell e4 --to mine --scale inf", 2, "--scale");
  expect_refused("intervene " + m + "--cell e4 --to mine --method gradient --lr nan", 2, "--lr");
  expect_refused("intervene " + m + "--cell e4 --to mine --method gradient --reg -1", 2, "--reg");
  expect_refused("intervene " + m + "--cell e4 --to mine --layer -5", 2, "--layer");
  expect_refused("saliency " + m + "--out /dev/null --scale inf", 2, "--scale");
  expect_refused("predict " + m + "--top 0", 2, "--top");
  expect_refused("predict " + m + "--top 61", 2, "--top");
  expect_refused("eval --random -1", 2, "a negative number?");
  expect_refused("eval --random 2 --threads -3", 2, "--threads");
  // every unsigned option refuses a minus sign (CLI11 alone would wrap -1 to 2^64-1)
  expect_refused("eval --random 2 --seed -1", 2, "--seed: got -1: a negative number?");
  expect_refused("generate --games 1 --first -5 --seed 1 --out /dev/null", 2, "--first");
  expect_refused("export-games --in " + kShipped + "/model.ckpt --limit -1", 2, "--limit");
  expect_refused("intervene bench --cases 2 --seed -3", 2, "--seed");
  expect_refused("probe show --probe " + kShipped + "/probes/linear-mine-theirs-L6.probe " + m + "--at -3", 2, "--at");
  TempDir t("refuse_train");
  const std::string tr = "train --preset 2x64 --games 8 --out " + t.str("run") + " ";
  // each refusal names its option (the text before the space)
  const auto refused = [](const std::string& cmd, const std::string& opt) {
    expect_refused(cmd + opt, 2, opt.substr(0, opt.find(' ')));
  };
  for (const char* o : {"--lr inf", "--beta1 1.5", "--beta2 -0.1", "--eps 0", "--wd nan", "--lr-floor 2", "--snapshot-every-games -1"}) refused(tr, o);
  CHECK(!std::filesystem::exists(t.str("run/latest.ckpt")));
  // probe train: a given value is checked, not swapped for the default (layer 6, lr 1e-2, ...)
  const std::string pt = "probe train --random 4 --out " + t.str("p.probe") + " ";
  for (const char* o : {"--layer -5", "--epochs -3", "--lr -1", "--wd -0.5", "--probe-batch 0", "--hidden 0"}) refused(pt, o);
  CHECK(!std::filesystem::exists(t.str("p.probe")));
  // saliency of a move onto an occupied square (d4: a centre square, no move token at all)
  expect_refused("saliency " + m + "--move d4 --out " + t.str("s.svg"), 2, "d4 is occupied");
  CHECK(!std::filesystem::exists(t.str("s.svg")));
}

TEST_CASE("refusals: a usage error is one line that names the subcommand and where its help is") {
  const std::pair<const char*, const char*> cases[] = {
      {"train --preset 2x64", "othello-gpt train: --out is required"},
      {"intervene bench --cases x", "othello-gpt intervene bench: Could not convert: --cases = x"},
      {"probe train --random 2 --bogus", "othello-gpt probe train: The following argument was not expected: --bogus"},
      {"", "othello-gpt: a subcommand is required: one of average curves eval"},
      {"trian --out x", "othello-gpt: unknown subcommand 'trian'"},
      {"--bogus", "othello-gpt: unknown option '--bogus'"},
  };
  for (const auto& [args, head] : cases) {
    const Ran r = ran(args);
    INFO("othello-gpt " << args << "\n" << r.out);
    CHECK(r.rc == 2);
    CHECK(r.out.rfind(head, 0) == 0);  // starts with it
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
    CHECK(r.out.find("--help lists the options") != std::string::npos);
  }
  // --help itself still prints the help, on stdout (stderr dropped here), and exits 0
  int rc = -1;
  const std::string help = run_cli("probe train --help", &rc);
  CHECK(rc == 0);
  CHECK(help.find("--basis") != std::string::npos);
}

TEST_CASE("refusals: empty inputs are not reported as results") {
  TempDir t("refuse_empty");
  const std::string empty = some_games(t, 0);
  expect_refused("eval --games " + empty, 2, "no games");
  expect_refused("probe eval --probe " + kShipped + "/probes/linear-mine-theirs-L6.probe --games " + empty, 2,
                 "no games");
  expect_refused("probe eval --probe " + kShipped + "/probes/linear-mine-theirs-L6.probe --games " +
                     some_games(t, 3) + " --max-games 0",
                 2, "--max-games");
  { std::ofstream(t.str("empty.txt")) << "\n\n"; }
  expect_refused("import-games --text " + t.str("empty.txt") + " --out " + t.str("e.games"), 2, "no games");
  CHECK(!std::filesystem::exists(t.str("e.games")));
  // games of one move have no next move to score: not "0% top-1, loss 0"
  { std::ofstream(t.str("one.txt")) << "f5\nd3\n"; }
  REQUIRE(ran("import-games --text " + t.str("one.txt") + " --out " + t.str("one.games")).rc == 0);
  expect_refused("eval --games " + t.str("one.games"), 2, "no position with a next move");
}

TEST_CASE("refusals: an --out that is the input, a line without moves, JSON of a non-UTF-8 path") {
  TempDir t("refuse_same");
  { std::ofstream(t.str("g.txt")) << "f5 d6 c3\n"; }
  expect_refused("import-games --text " + t.str("g.txt") + " --out " + t.str("g.txt"), 2, "is the input file");
  REQUIRE(ran("import-games --text " + t.str("g.txt") + " --out " + t.str("g.games")).rc == 0);
  expect_refused("export-games --in " + t.str("g.games") + " --out " + t.str("g.games"), 2, "is the input file");
  // the inputs are as they were
  std::ifstream in(t.str("g.txt"));
  std::string line;
  std::getline(in, line);
  CHECK(line == "f5 d6 c3");
  CHECK(ogpt::data::count_games(t.str("g.games")) == 1);
  std::filesystem::copy_file(kShipped + "/model.ckpt", t.str("m.ckpt"));
  expect_refused("import --from " + t.str("m.ckpt") + " --out " + t.str("m.ckpt"), 2, "is the input file");
  CHECK(std::filesystem::file_size(t.str("m.ckpt")) == std::filesystem::file_size(kShipped + "/model.ckpt"));
  // a line of separators alone is no game (it used to become a game of 0 moves)
  { std::ofstream(t.str("commas.txt")) << "f5\n , ,\n"; }
  expect_refused("import-games --text " + t.str("commas.txt") + " --out " + t.str("c.games"), 3, "line 2: no moves");
  // a path that is not UTF-8 (any bytes are a Linux file name) still gives valid JSON
  const std::string odd = t.str("odd\xff.txt");
  { std::ofstream(odd) << "f5\n"; }
  const Ran j = ran("import-games --json --text '" + odd + "' --out " + t.str("odd.games"));
  REQUIRE(j.rc == 0);
  const auto parsed = nlohmann::json::parse(j.out.substr(j.out.find('{')), nullptr, false);
  REQUIRE(!parsed.is_discarded());
  CHECK(parsed["games"] == 1);
}

TEST_CASE("refusals: a probe for a layer the model lacks, an --out that is a file") {
  TempDir t("refuse_probe");
  const std::string probe = kShipped + "/probes/linear-mine-theirs-L6.probe";
  // The 2-layer model has no blocks.5: before, extraction failed with an internal error.
  expect_refused("probe show --probe " + probe + " --model " + tiny_model(t, "m.ckpt", 59, false) +
                     " --moves \"f5 d6\"",
                 2, "has no hook 'blocks.5.hook_resid_post'");
  { std::ofstream(t.str("file.txt")) << "keep me\n"; }
  expect_refused("probe export --probe " + probe + " --out " + t.str("file.txt"), 4, "not a directory");
  std::ifstream in(t.str("file.txt"));
  std::string line;
  std::getline(in, line);
  CHECK(line == "keep me");
}

TEST_CASE("refusals: an output path that cannot be written is refused before the work, not after it") {
  TempDir t("refuse_outdir");
  const std::string missing = t.str("no-such-dir") + "/out";
  const std::string probe = kShipped + "/probes/linear-mine-theirs-L6.probe";
  // Each of these works for seconds to minutes before it writes. The refusal must come first: exit
  // 4 naming the path, and no progress line (which the work prints to stderr) before it.
  for (const std::string& args : {
           "eval --random 50 --svg " + missing + ".svg",
           "probe train --layer 2 --random 40 --out " + missing + ".probe",
           "probe eval --probe " + probe + " --random 40 --svg " + missing + ".svg",
           "intervene bench --methods linear --cases 4 --svg " + missing + ".svg",
           "saliency --moves \"f5 d6 c3\" --out " + missing + ".svg",
           "tour --quick --out " + missing + ".html",
           "average --model " + kShipped + " --model " + kShipped + " --out " + missing + ".ckpt",
       }) {
    const Ran r = ran(args);
    INFO("othello-gpt " << args << "\n" << r.out);
    CHECK(r.rc == 4);
    CHECK(r.out.find(missing) != std::string::npos);
    CHECK(r.out.find("does not exist") != std::string::npos);
    CHECK(r.out.find(" [") == std::string::npos);  // no progress bar ("label [###...] ...") ran
  }
  CHECK_FALSE(std::filesystem::exists(t.str("no-such-dir")));
}

TEST_CASE("refusals: a case file whose kind does not describe its edit") {
  TempDir t("refuse_cases");
  using namespace ogpt::interventions;
  EditCase c;
  c.moves = {37};  // f5: black has played, white to move; a1 is empty
  c.cell = 0;
  c.target = CellState::mine;
  c.kind = CaseKind::flip;  // a flip of an empty cell is not a flip
  save_cases(t.str("bad.cases"), {c});
  expect_refused("intervene bench --cases-file " + t.str("bad.cases"), 3, "is not a flip");
  CHECK_THROWS_WITH_AS(load_cases(t.str("bad.cases")), doctest::Contains("a1, which is empty"), ogpt::UserError);
  // e4 (square 28) after f5 is black's, i.e. "theirs" for white: flipping it to mine is a flip
  c.cell = 28;
  save_cases(t.str("good.cases"), {c});
  CHECK(load_cases(t.str("good.cases")).size() == 1);
}

TEST_CASE("refusals: results written to a full disk on stdout, and junk in a training log") {
  TempDir t("refuse_io");
  const std::string g = some_games(t, 3);
  if (std::filesystem::exists("/dev/full")) {
    // stdout to the full device, stderr to a file (run_cli would send both to the same place)
    const std::string cmd = std::string(OGPT_CLI) + " export-games -i " + g + " >/dev/full 2>" + t.str("err.txt");
    const int st = std::system(cmd.c_str());
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 4);
    std::ifstream in(t.str("err.txt"));
    std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(err.find("cannot write standard output") != std::string::npos);
    CHECK(ran("export-games -i " + g + " > /dev/null").rc == 0);
  } else {
    MESSAGE("no /dev/full here: the full-disk check of stdout is skipped");
  }
  std::filesystem::create_directories(t.str("run"));
  {
    std::ofstream(t.str("run/log.csv"))
        << "step,games,wall_s,lr,train_loss,train_excess,val_loss,val_excess,val_legal_top1,grad_norm\n"
        << "0,0,0.0,1e-5,4.1,2.1,,,,0.5\n"
        << "10,1280,x1.5,1e-4,3.9,1.9,,,,0.4\n"
        << "20,2560,3.0,1e-4,3.8,1.8,,,,0.4\n";
  }
  expect_refused("curves " + t.str("run") + " --out " + t.str("c.svg"), 3, "line 3: field 3 ('x1.5')");
  const std::string header = "step,games,wall_s,lr,train_loss,train_excess,val_loss,val_excess,val_legal_top1,grad_norm\n";
  { std::ofstream(t.str("run/log.csv")) << header << "0,0,0.0,1e-5,inf,2.1,,,,0.5\n10,1280,1.5,1e-4,3.9,1.9,,,,0.4\n"; }
  expect_refused("curves " + t.str("run") + " --out " + t.str("c.svg"), 3, "line 2: field 5 ('inf')");
  { std::ofstream(t.str("run/log.csv")) << header << "0,99999999999999999999999,0.0,1e-5,4.1,2.1,,,,0.5\n10,1280,1.5,1e-4,3.9,1.9,,,,0.4\n"; }
  expect_refused("curves " + t.str("run") + " --out " + t.str("c.svg"), 3, "line 2: field 2");
  { std::ofstream(t.str("run/log.csv")); }  // empty
  expect_refused("curves " + t.str("run") + " --out " + t.str("c.svg"), 3, "empty file, not a training log");
  CHECK(!std::filesystem::exists(t.str("c.svg")));
}

TEST_CASE("refusals: an output that is one of the inputs, or another output, is refused and the input kept") {
  TempDir t("refuse_clobber");
  namespace fs = std::filesystem;
  fs::copy_file(kShipped + "/model.ckpt", t.str("m.ckpt"));
  const std::string probe = kShipped + "/probes/linear-mine-theirs-L6.probe";
  fs::copy_file(probe, t.str("p.probe"));
  const auto size = fs::file_size(t.str("m.ckpt"));
  const std::string m = " --model " + t.str("m.ckpt");
  expect_refused("saliency --moves f5" + m + " --out " + t.str("m.ckpt"), 2, "is the input file");
  expect_refused("saliency --moves f5" + m + " --probe " + t.str("p.probe") + " --out " + t.str("p.probe"), 2,
                 "(--probe)");
  expect_refused("eval --random 2" + m + " --breakdown --svg " + t.str("m.ckpt"), 2, "--svg");
  expect_refused("probe train --random 5" + m + " --out " + t.str("m.ckpt"), 2, "is the input file");
  expect_refused("probe eval --random 2 --probe " + t.str("p.probe") + m + " --svg " + t.str("p.probe"), 2,
                 "is the input file");
  expect_refused("tour --quick -m " + t.str("m.ckpt") + " -o " + t.str("m.ckpt"), 2, "is the input file");
  // a model directory is read through the checkpoint in it
  fs::create_directory(t.str("run"));
  fs::copy_file(t.str("m.ckpt"), t.str("run/latest.ckpt"));
  expect_refused("saliency --moves f5 --model " + t.str("run") + " --out " + t.str("run/latest.ckpt"), 2,
                 "is the input file");
  // bench: its two outputs must differ too
  expect_refused("intervene bench --cases 1" + m + " --svg " + t.str("x.svg") + " --save-cases " + t.str("x.svg"), 2,
                 "are the same file");
  { std::ofstream(t.str("log.csv")) << "step,games,wall_s,lr,train_loss,train_excess,val_loss,val_excess,val_legal_top1,grad_norm\n"; }
  expect_refused("curves " + t.str("log.csv") + " -o " + t.str("log.csv"), 2, "is the input file");
  CHECK(fs::file_size(t.str("m.ckpt")) == size);
  CHECK(fs::file_size(t.str("p.probe")) == fs::file_size(probe));
  CHECK(!fs::exists(t.str("x.svg")));
}

TEST_CASE("refusals: NaN and sign slips in options that have an unset default, and bounds on sizes") {
  TempDir t("refuse_nan");
  const std::string m = "--moves \"f5 d6 c3 d3\" ";
  // -1 was the "unset" marker: given by hand it ran the default
  expect_refused("intervene " + m + "--cell e4 --to mine --layer -1", 2, "--layer");
  expect_refused("saliency " + m + "--layer -1 --out " + t.str("s.svg"), 2, "--layer");
  expect_refused("probe show --probe " + kShipped + "/probes/linear-mine-theirs-L6.probe " + m + "--at -1", 2, "--at");
  // NaN passed CLI11's PositiveNumber, then read as "unset"
  const std::string pt = "probe train --random 4 --out " + t.str("p.probe") + " ";
  for (const char* o : {"--epochs nan", "--lr nan", "--wd nan"}) expect_refused(pt + o, 2, "finite");
  const std::string tr = "train --preset 2x64 --games 8 --out " + t.str("run") + " ";
  for (const char* o : {"--ckpt-every-minutes nan", "--ckpt-every-minutes -1", "--stop-after -1", "--stop-after 0",
                        "--stop-after-minutes nan", "--warmup -5", "--val-every -1", "--log-every -1", "--batch 0"})
    expect_refused(tr + o, 2, std::string(o).substr(0, std::string(o).find(' ')));
  expect_refused("probe sweep --random 4 --out " + t.str("sw") + " --max-memory-gb nan", 2, "--max-memory-gb");
  expect_refused("probe sweep --random 4 --out " + t.str("sw") + " --hidden 0", 2, "--hidden");
  CHECK(!std::filesystem::exists(t.str("sw")));
  // the message says what is wanted in words, not DBL_MAX written out
  const Ran pb = ran("probe eval --random 2 --probe " + kShipped + "/probes/linear-mine-theirs-L6.probe --batch 0");
  CHECK(pb.rc == 2);
  CHECK(pb.out.find("must be a positive finite number (got 0)") != std::string::npos);
  CHECK(pb.out.find("17976931348623157") == std::string::npos);
  // a batch this machine cannot hold is refused before the kernel kills the run
  expect_refused(tr + "--batch 2000000", 2, "lower --batch");
  CHECK(!std::filesystem::exists(t.str("run")));  // not even the empty directory it made
  // generate: game indices must not wrap around (games 2, 3 would be games 0, 1), nor -n run away
  expect_refused("generate -n 3 -s 1 --first 18446744073709551615 -o " + t.str("w.games"), 2, "passes the last game index");
  expect_refused("generate -n 99999999999 -s 1 -o " + t.str("w.games"), 2, "--games");
  CHECK(!std::filesystem::exists(t.str("w.games")));
  // an empty host listened on an address httplib chose and printed "http://:PORT/"
  expect_refused("serve --host \"\" --port 0", 2, "--host must name an address");
}

TEST_CASE("refusals: a case file with no cases, or cases the bench cannot run") {
  TempDir t("refuse_cases2");
  using namespace ogpt::interventions;
  save_cases(t.str("empty.cases"), {});
  expect_refused("intervene bench --methods linear --cases-file " + t.str("empty.cases") + " --svg " + t.str("e.svg"),
                 2, "no cases to run");
  CHECK(!std::filesystem::exists(t.str("e.svg")));
  // erasing a centre square: refused where the file and byte are known, not mid-bench
  EditCase c;
  c.moves = {37};  // f5; d4 (27) is white's
  c.cell = 27;
  c.target = CellState::empty;
  c.kind = CaseKind::erase;
  save_cases(t.str("centre.cases"), {c});
  CHECK_THROWS_WITH_AS(load_cases(t.str("centre.cases")), doctest::Contains("centre.cases: case 0 (d4): d4 is a centre square"),
                       ogpt::UserError);
  CHECK_THROWS_WITH_AS(load_cases(t.str("centre.cases")), doctest::Contains("at byte 28"), ogpt::UserError);
}
