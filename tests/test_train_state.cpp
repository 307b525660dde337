// The run's files apart from the model: the training state blob, resume config merging, the CSV
// log and the SVG writer.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "model/checkpoint.hpp"
#include "model/model_path.hpp"
#include "model/train_log.hpp"
#include "model/train_state.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/svg_plot.hpp"

using namespace ogpt;
using namespace ogpt::model;

TEST_CASE("train state: encode/decode round trip, refusals") {
  TrainState s;
  s.run.preset = "2x64";
  s.run.cfg = preset("2x64");
  s.run.batch = 8;
  s.run.total_games = 1234;
  s.run.seed = 42;
  s.run.games_file = "x.games";
  s.run.schedule.lr = 3e-4;
  s.run.hyper.clip = 0.5;
  s.run.legal_target = true;
  s.run.decay_games = 640;
  s.step = 17;
  s.games_seen = 136;
  s.data_pos = 99;
  s.epoch = 3;
  s.wall_s = 12.5;
  s.threads = 2;
  s.opt.reset(5);
  s.opt.t = 17;
  s.opt.m = {1, 2, 3, 4, 5};
  s.opt.v[4] = 0.25f;
  std::string blob = encode_train_state(s);
  TrainState r = decode_train_state(blob, "f.ckpt");
  CHECK(r.run.preset == "2x64");
  CHECK(r.run.cfg == preset("2x64"));
  CHECK(r.run.batch == 8);
  CHECK(r.run.total_games == 1234);
  CHECK(r.run.seed == 42);
  CHECK(r.run.games_file == "x.games");
  CHECK(r.run.schedule.lr == 3e-4);
  CHECK(r.run.hyper.clip == 0.5);
  CHECK(r.run.legal_target);
  CHECK(r.run.decay_games == 640);
  CHECK(r.step == 17);
  CHECK(r.games_seen == 136);
  CHECK(r.data_pos == 99);
  CHECK(r.epoch == 3);
  CHECK(r.wall_s == 12.5);
  CHECK(r.opt.t == 17);
  CHECK(r.opt.m == s.opt.m);
  CHECK(r.opt.v == s.opt.v);
  CHECK_THROWS_AS(decode_train_state("", "f.ckpt"), UserError);
  CHECK_THROWS_AS(decode_train_state(blob.substr(0, blob.size() / 2), "f.ckpt"), UserError);
  std::string newer = blob;
  newer[8] = 99;  // version 99
  CHECK_THROWS_WITH_AS(decode_train_state(newer, "f.ckpt"), doctest::Contains("version 99"), UserError);
  // A version-3 state (before --decay-games existed) is a cosine run.
  std::string v3 = blob.substr(0, blob.size() - 8);
  v3[8] = 3;
  CHECK(decode_train_state(v3, "f.ckpt").run.decay_games == -1);
  CHECK(decode_train_state(v3, "f.ckpt").run.legal_target);
  // A version-1 state (before --target existed) is a next-move run.
  std::string v1 = blob.substr(0, blob.size() - 10);
  v1[8] = 1;
  CHECK_FALSE(decode_train_state(v1, "f.ckpt").run.legal_target);
  CHECK(decode_train_state(v1, "f.ckpt").opt.v == s.opt.v);

  // A forged length (the checkpoint's crc32 can be forged too) is refused before anything is
  // allocated: cereal alone would resize to it first, and zero-fill gigabytes or fail to allocate.
  auto forge = [&](size_t at, uint64_t n) {
    std::string b = blob;
    std::memcpy(b.data() + at, &n, 8);
    return b;
  };
  const size_t preset_len = 12;  // the first field after the magic and the version: a string
  uint64_t n = 0;
  std::memcpy(&n, blob.data() + preset_len, 8);
  REQUIRE(n == 4);  // "2x64"
  // m: its length 5 followed by its first value 1.0f, found in the bytes
  std::string m_start(8 + 4, '\0');
  const uint64_t five = 5;
  const float one = 1.0f;
  std::memcpy(m_start.data(), &five, 8);
  std::memcpy(m_start.data() + 8, &one, 4);
  const size_t m_len = blob.find(m_start);
  REQUIRE(m_len != std::string::npos);
  const size_t games_file_len = blob.find(std::string("\x07\0\0\0\0\0\0\0x.games", 15));
  REQUIRE(games_file_len != std::string::npos);
  for (size_t at : {preset_len, games_file_len, m_len, m_len + 8 + 5 * 4})  // the last: v's length
    for (uint64_t forged : {uint64_t{1} << 62, uint64_t{1} << 33, uint64_t(blob.size()) + 1}) {
      CAPTURE(at);
      CAPTURE(forged);
      CHECK_THROWS_WITH_AS(decode_train_state(forge(at, forged), "forged.ckpt"),
                           doctest::Contains("more than the payload holds"), UserError);
    }
  // A flag byte other than 0 or 1 (reading it into a bool would be undefined behaviour): the
  // model's two flags after the preset and 7 ints, bf16 after the game file and its count.
  const size_t ln_flag = preset_len + 8 + 4 + 7 * 4, bf16_flag = games_file_len + 8 + 7 + 8;
  for (size_t at : {ln_flag, ln_flag + 1, bf16_flag}) {
    CAPTURE(at);
    REQUIRE(uint8_t(blob[at]) <= 1);
    std::string b = blob;
    b[at] = 7;
    CHECK_THROWS_WITH_AS(decode_train_state(b, "forged.ckpt"), doctest::Contains("holds the byte 7, not a bool"),
                         UserError);
  }
  // A model shape no real model has.
  TrainState odd = s;
  odd.run.cfg.d_model = 0;
  CHECK_THROWS_WITH_AS(decode_train_state(encode_train_state(odd), "odd.ckpt"), doctest::Contains("model shape"),
                       UserError);
}

TEST_CASE("train state: resume accepts the same run and a longer one, refuses a different one") {
  RunConfig stored;
  stored.preset = "2x64";
  stored.batch = 8;
  stored.total_games = 800;
  stored.seed = 3;
  RunConfig req = stored;
  // Nothing given: the stored run as it was.
  CHECK(merge_resume(stored, req, {}, "d").total_games == 800);
  // Given but equal: fine.
  CHECK_NOTHROW(merge_resume(stored, req, {"preset", "batch", "seed", "lr"}, "d"));
  {
    RunConfig other = req;
    other.legal_target = true;
    CHECK_THROWS_WITH_AS(merge_resume(stored, other, {"target"}, "d"), doctest::Contains("--target legal (the run has next-move)"),
                         UserError);
  }
  // Longer: allowed, the schedule is re-planned.
  req.total_games = 1600;
  RunConfig m = merge_resume(stored, req, {"games"}, "d");
  CHECK(m.total_games == 1600);
  CHECK(m.schedule.total_steps == 200);
  // Not given: a differing value in `req` (a default) is ignored.
  req.batch = 256;
  CHECK(merge_resume(stored, req, {}, "d").batch == 8);
  // Given and different: refused, naming the option and both values.
  CHECK_THROWS_WITH_AS(merge_resume(stored, req, {"batch"}, "d"), doctest::Contains("--batch 256 (the run has 8)"),
                       UserError);
  req = stored;
  req.preset = "4x128";
  CHECK_THROWS_WITH_AS(merge_resume(stored, req, {"preset"}, "d"), doctest::Contains("--preset"), UserError);
  req = stored;
  req.seed = 4;
  CHECK_THROWS_AS(merge_resume(stored, req, {"seed"}, "d"), UserError);
  // --decay-games may change: a cosine run becomes a trunk, a trunk its decay.
  req = stored;
  req.decay_games = 0;
  m = merge_resume(stored, req, {"decay-games"}, "d");
  CHECK(m.decay_games == 0);
  CHECK(m.schedule.decay_steps == 0);
  req.decay_games = 20;
  CHECK(merge_resume(stored, req, {"decay-games"}, "d").schedule.decay_steps == 3);  // ceil(20 / 8)
  CHECK(merge_resume(stored, req, {}, "d").decay_games == -1);  // not given: as stored
  req = stored;
  req.total_games = 400;  // fewer games: finish sooner (train() checks it against the games seen)
  m = merge_resume(stored, req, {"games"}, "d");
  CHECK(m.total_games == 400);
  CHECK(m.schedule.total_steps == 50);
}

TEST_CASE("train log: csv rows round trip, a resume drops rows after the checkpoint") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ogpt_test_log_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    TrainLog log(dir.string(), -1);
    for (int s = 0; s <= 30; s += 10) {
      LogRow r;
      r.step = s;
      r.games = s * 8;
      r.wall_s = s * 0.5;
      r.lr = 1e-3;
      r.train_loss = 3.0 - s * 0.01;
      r.train_excess = 1.0 - s * 0.01;
      if (s % 20 == 0) {
        r.val_loss = 2.9;
        r.val_excess = 0.9;
        r.val_legal_top1 = 0.5 + s * 0.01;
      }
      r.grad_norm = 0.7;
      log.append(r);
    }
    log.write_curve_svg("test");
  }
  auto rows = parse_log_csv(util::read_file((dir / "log.csv").string()), "log.csv");
  REQUIRE(rows.size() == 4);
  CHECK(rows[3].step == 30);
  CHECK(rows[3].games == 240);
  CHECK(rows[3].train_loss == doctest::Approx(2.7));
  CHECK(std::isnan(rows[1].val_loss));
  CHECK(rows[2].val_legal_top1 == doctest::Approx(0.7));
  std::string svg = util::read_file((dir / "curve.svg").string());
  CHECK(svg.find("<svg") == 0);
  CHECK(svg.find("polyline") != std::string::npos);
  {
    TrainLog log(dir.string(), 15);  // resumed from a checkpoint at step 15
    CHECK(log.rows().size() == 2);
  }
  rows = parse_log_csv(util::read_file((dir / "log.csv").string()), "log.csv");
  CHECK(rows.size() == 2);
  CHECK(rows.back().step == 10);
  // A line cut short by a kill at the end is dropped; one in the middle is an error.
  std::string text = std::string(kLogHeader) + "\n10,80,1,0.001,3,1,,,,0.5\n20,160,2";
  CHECK(parse_log_csv(text, "l").size() == 1);
  text = std::string(kLogHeader) + "\n20,160,2\n10,80,1,0.001,3,1,,,,0.5\n";
  CHECK_THROWS_WITH_AS(parse_log_csv(text, "l"), doctest::Contains("line 2"), UserError);
  fs::remove_all(dir);
}

TEST_CASE("svg plot: ticks, labels, series with gaps, log axis, escaping") {
  auto t = util::nice_ticks(0, 1, 5);
  REQUIRE(t.size() >= 3);
  CHECK(t.front() == 0);
  CHECK(t.back() == doctest::Approx(1));
  for (size_t i = 1; i < t.size(); ++i) CHECK(t[i] > t[i - 1]);
  auto big = util::nice_ticks(0, 2.3e6, 6);
  CHECK(big[1] - big[0] == doctest::Approx(5e5));
  CHECK(util::format_tick(1.5e6) == "1.5M");
  CHECK(util::format_tick(20000) == "20k");
  CHECK(util::format_tick(0.25) == "0.25");
  util::Plot p;
  p.title = "a < b & c";
  p.log_y = true;
  util::Series s;
  s.name = "loss";
  s.x = {1, 2, 3, 4, 5};
  s.y = {1.0, 0.1, NAN, 0.01, -1};  // a gap (NaN) and a point a log axis cannot show
  p.series.push_back(s);
  std::string svg = util::render_svg(p);
  CHECK(svg.find("a &lt; b &amp; c") != std::string::npos);
  size_t lines = 0;
  for (size_t at = 0; (at = svg.find("<polyline", at)) != std::string::npos; ++at) ++lines;
  CHECK(lines == 2);  // split at the NaN; the negative point dropped
  CHECK(svg.find(">0.01<") != std::string::npos);  // a decade tick
  util::Plot empty;
  CHECK(util::render_svg(empty).find("</svg>") != std::string::npos);
  CHECK(util::render_svg_grid({p, empty, p}, 2).find("height=\"800\"") != std::string::npos);
}

TEST_CASE("svg plot: the legend sits inside the frame by default, beside it with legend_outside") {
  util::Plot p;
  p.series.push_back({"loss", {0, 1}, {1, 2}, false, ""});
  // The number in attribute `attr` of the first element that starts with `head`.
  auto attr_after = [](const std::string& svg, const std::string& head, const std::string& attr) {
    const size_t at = svg.find(head);
    REQUIRE(at != std::string::npos);
    const size_t v = svg.find(attr + "=\"", at);
    REQUIRE(v != std::string::npos);
    return std::stod(svg.substr(v + attr.size() + 2));
  };
  auto frame_right = [&](const std::string& svg) {  // the frame: the rect with no fill
    const size_t end = svg.find("fill=\"none\" stroke=\"#333\"");
    REQUIRE(end != std::string::npos);
    const std::string rect = svg.substr(svg.rfind("<rect", end));
    return attr_after(rect, "<rect", "x") + attr_after(rect, "<rect", "width");
  };
  auto legend_x = [&](const std::string& svg) {
    const size_t end = svg.find("\">loss</text>");
    REQUIRE(end != std::string::npos);
    return attr_after(svg.substr(svg.rfind("<text", end)), "<text", "x");
  };
  const std::string inside = util::render_svg(p);
  CHECK(legend_x(inside) < frame_right(inside));
  p.legend_outside = true;
  const std::string outside = util::render_svg(p);
  CHECK(legend_x(outside) > frame_right(outside));
  CHECK(frame_right(outside) < frame_right(inside));  // the frame narrows to make room
  CHECK(frame_right(outside) + 150 <= p.width);        // and the legend fits in the picture
}

TEST_CASE("model path: a file, a training directory, a directory with model.ckpt, the default") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ogpt_test_mpath_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "run");
  fs::create_directories(dir / "shipped");
  fs::create_directories(dir / "empty");
  ParamBlock p(preset("2x64"));
  init_params(p, 1);
  save_checkpoint((dir / "run" / "latest.ckpt").string(), p, WeightDtype::f32);
  save_checkpoint((dir / "run" / "previous.ckpt").string(), p, WeightDtype::f32);
  save_checkpoint((dir / "shipped" / "model.ckpt").string(), p, WeightDtype::bf16);
  const std::string shipped = (dir / "shipped").string();
  CHECK(resolve_model_path((dir / "run").string(), shipped) == (dir / "run" / "latest.ckpt").string());
  CHECK(resolve_model_path((dir / "run" / "previous.ckpt").string(), shipped) ==
        (dir / "run" / "previous.ckpt").string());
  CHECK(resolve_model_path("", shipped) == (dir / "shipped" / "model.ckpt").string());
  CHECK_THROWS_WITH_AS(resolve_model_path((dir / "empty").string(), shipped),
                       doctest::Contains("without latest.ckpt"), UserError);
  CHECK_THROWS_WITH_AS(resolve_model_path((dir / "nope").string(), shipped), doctest::Contains("no such file"),
                       UserError);
  CHECK_THROWS_WITH_AS(resolve_model_path("", (dir / "nope").string()), doctest::Contains("no --model given"),
                       UserError);
  std::string used;
  auto ck = load_model((dir / "run").string(), shipped, &used);
  CHECK(used == (dir / "run" / "latest.ckpt").string());
  CHECK(ck.params.data == p.data);
  fs::remove_all(dir);
}
