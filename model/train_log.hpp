#pragma once
// The learning curve of a run: DIR/log.csv (one row per --log-every steps, validation columns
// filled on validation rows, empty otherwise) and DIR/curve.svg drawn from it (excess loss and
// top-1 legal-move error against games seen), rewritten at each validation.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ogpt::model {

struct LogRow {
  int64_t step = 0;
  uint64_t games = 0;
  double wall_s = 0, lr = 0;
  double train_loss = NAN, train_excess = NAN;                     // mean over the logged steps
  double val_loss = NAN, val_excess = NAN, val_legal_top1 = NAN;   // NaN: no validation here
  double grad_norm = NAN;                                          // before clipping, last step
};

constexpr const char* kLogHeader =
    "step,games,wall_s,lr,train_loss,train_excess,val_loss,val_excess,val_legal_top1,grad_norm";

std::string format_log_row(const LogRow& r);
// Parses log.csv text (header line first); throws UserError naming `path` and the line.
std::vector<LogRow> parse_log_csv(const std::string& text, const std::string& path);

class TrainLog {
 public:
  // Opens DIR/log.csv. keep_until_step < 0: starts a fresh log. Otherwise (a resume) keeps the
  // rows with step <= keep_until_step: rows written after the checkpoint being resumed would
  // otherwise appear twice.
  TrainLog(std::string dir, int64_t keep_until_step);
  ~TrainLog();
  TrainLog(const TrainLog&) = delete;
  TrainLog& operator=(const TrainLog&) = delete;
  void append(const LogRow& r);  // written and flushed at once (a kill -9 loses no logged row)
  void write_curve_svg(const std::string& title) const;
  const std::vector<LogRow>& rows() const { return rows_; }
  std::string csv_path() const { return dir_ + "/log.csv"; }
  std::string svg_path() const { return dir_ + "/curve.svg"; }

 private:
  std::string dir_;
  std::vector<LogRow> rows_;
  std::FILE* f_ = nullptr;
};

// The curve picture alone (for tests and other tools): two panels from `rows`.
std::string render_curve_svg(const std::vector<LogRow>& rows, const std::string& title);

// Several runs in one picture (ablations): validation excess loss against games seen and against
// training hours, and the top-1 legal-move error against games seen; one line per run.
struct NamedLog {
  std::string name;
  std::vector<LogRow> rows;
};
std::string render_compare_svg(const std::vector<NamedLog>& runs, const std::string& title);

}  // namespace ogpt::model
