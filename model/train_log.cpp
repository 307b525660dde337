#include "model/train_log.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/svg_plot.hpp"

namespace ogpt::model {

namespace {
std::string cell(double v, const char* fmt = "%.6g") {
  if (!std::isfinite(v)) return "";
  char b[40];
  std::snprintf(b, sizeof b, fmt, v);
  return b;
}
}  // namespace

std::string format_log_row(const LogRow& r) {
  return std::to_string(r.step) + "," + std::to_string(r.games) + "," + cell(r.wall_s, "%.1f") + "," +
         cell(r.lr, "%.6g") + "," + cell(r.train_loss) + "," + cell(r.train_excess) + "," +
         cell(r.val_loss) + "," + cell(r.val_excess) + "," + cell(r.val_legal_top1) + "," +
         cell(r.grad_norm);
}

std::vector<LogRow> parse_log_csv(const std::string& text, const std::string& path) {
  std::vector<LogRow> rows;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (lineno == 1) {
      if (line != kLogHeader) throw UserError(path + ": line 1: not a training log header");
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::string tok;
    std::istringstream ls(line);
    while (std::getline(ls, tok, ',')) f.push_back(tok);
    if (!line.empty() && line.back() == ',') f.push_back("");
    if (f.size() != 10) {
      // A line cut short by a kill mid-write: the last line only; drop it.
      if (in.peek() == EOF) break;
      throw UserError(path + ": line " + std::to_string(lineno) + ": expected 10 fields");
    }
    // Empty = not measured at this step (NaN); anything else must be a number in full. A bad
    // field on the last line is a line cut short by a kill mid-write, as above: dropped.
    const bool last_line = in.peek() == EOF;
    bool cut = false;
    auto bad = [&](int k) {
      if (last_line) {
        cut = true;
        return;
      }
      throw UserError(path + ": line " + std::to_string(lineno) + ": field " + std::to_string(k + 1) + " ('" + f[k] +
                      "') is not a number");
    };
    auto num = [&](int k) {
      const std::string& s = f[k];
      if (s.empty()) return double(NAN);
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (end == s.c_str() || *end != '\0' || !std::isfinite(v)) bad(k);  // the trainer writes "" for NaN, never inf
      return v;
    };
    auto integer = [&](int k) {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(f[k].c_str(), &end, 10);
      if (f[k].empty() || *end != '\0' || v < 0 || errno == ERANGE) bad(k);
      return v;
    };
    LogRow r;
    r.step = integer(0);
    r.games = static_cast<uint64_t>(integer(1));
    r.wall_s = num(2);
    r.lr = num(3);
    r.train_loss = num(4);
    r.train_excess = num(5);
    r.val_loss = num(6);
    r.val_excess = num(7);
    r.val_legal_top1 = num(8);
    r.grad_norm = num(9);
    if (cut) break;
    rows.push_back(r);
  }
  if (lineno == 0) throw UserError(path + ": empty file, not a training log");
  return rows;
}

TrainLog::TrainLog(std::string dir, int64_t keep_until_step) : dir_(std::move(dir)) {
  if (keep_until_step >= 0 && std::filesystem::exists(csv_path())) {
    for (auto& r : parse_log_csv(util::read_file(csv_path()), csv_path()))
      if (r.step <= keep_until_step) rows_.push_back(r);
  }
  std::string text = std::string(kLogHeader) + "\n";
  for (auto& r : rows_) text += format_log_row(r) + "\n";
  util::write_file_atomic(csv_path(), text);
  f_ = std::fopen(csv_path().c_str(), "a");
  if (!f_) throw IoError("cannot append to " + csv_path());
}

TrainLog::~TrainLog() {
  if (f_) std::fclose(f_);
}

void TrainLog::append(const LogRow& r) {
  rows_.push_back(r);
  std::string line = format_log_row(r) + "\n";
  if (std::fputs(line.c_str(), f_) < 0 || std::fflush(f_) != 0) throw IoError("cannot write " + csv_path());
}

void TrainLog::write_curve_svg(const std::string& title) const {
  util::write_file_atomic(svg_path(), render_curve_svg(rows_, title));
}

std::string render_curve_svg(const std::vector<LogRow>& rows, const std::string& title) {
  util::Series train_ex, val_ex, val_err;
  train_ex.name = "train (batch)";
  val_ex.name = val_err.name = "validation";
  val_ex.markers = val_err.markers = true;
  val_err.color = "#d62728";  // the validation colour of the left panel
  for (auto& r : rows) {
    if (std::isfinite(r.train_excess)) {
      train_ex.x.push_back(static_cast<double>(r.games));
      train_ex.y.push_back(r.train_excess);
    }
    if (std::isfinite(r.val_excess)) {
      val_ex.x.push_back(static_cast<double>(r.games));
      val_ex.y.push_back(r.val_excess);
      val_err.x.push_back(static_cast<double>(r.games));
      val_err.y.push_back(100.0 * (1.0 - r.val_legal_top1));
    }
  }
  util::Plot a;
  a.title = title + ": excess loss";
  a.x_label = "games seen";
  a.y_label = "loss - entropy floor (nats/move)";
  a.log_y = true;
  a.series = {train_ex, val_ex};
  util::Plot b;
  b.title = title + ": top-1 prediction illegal";
  b.x_label = "games seen";
  b.y_label = "top-1 legal-move error (%)";
  b.log_y = true;
  b.series = {val_err};
  return util::render_svg_grid({a, b}, 2);
}

std::string render_compare_svg(const std::vector<NamedLog>& runs, const std::string& title) {
  util::Plot by_games, by_hours, err;
  by_games.title = title + ": validation excess loss";
  by_games.x_label = "games seen";
  by_hours.title = title + ": the same against training time";
  by_hours.x_label = "training hours (wall clock)";
  by_games.y_label = by_hours.y_label = "loss - entropy floor (nats/move)";
  err.title = title + ": top-1 prediction illegal";
  err.x_label = "games seen";
  err.y_label = "top-1 legal-move error (%)";
  for (util::Plot* p : {&by_games, &by_hours, &err}) p->log_y = true;
  for (const NamedLog& run : runs) {
    util::Series g, h, e;
    g.name = h.name = e.name = run.name;
    g.markers = h.markers = e.markers = true;
    for (const LogRow& r : run.rows) {
      if (!std::isfinite(r.val_excess)) continue;
      g.x.push_back(static_cast<double>(r.games));
      g.y.push_back(r.val_excess);
      h.x.push_back(r.wall_s / 3600.0);
      h.y.push_back(r.val_excess);
      e.x.push_back(static_cast<double>(r.games));
      e.y.push_back(100.0 * (1.0 - r.val_legal_top1));
    }
    by_games.series.push_back(std::move(g));
    by_hours.series.push_back(std::move(h));
    err.series.push_back(std::move(e));
  }
  return util::render_svg_grid({by_games, by_hours, err}, 3);
}

}  // namespace ogpt::model
