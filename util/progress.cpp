#include "util/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace ogpt::util {

using clk = std::chrono::steady_clock;

Progress::Progress(std::string label, uint64_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      tty_(::isatty(2)), start_(clk::now()), last_draw_(start_ - std::chrono::hours(1)) {}

Progress::~Progress() {
  if (!finished_) finish();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(clk::now() - start_).count();
}

std::string Progress::format_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "--:--";
  long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

void Progress::update(uint64_t done, const std::string& extra) {
  done_ = done;
  extra_ = extra;
  if (!enabled_) return;
  double since = std::chrono::duration<double>(clk::now() - last_draw_).count();
  if (since >= (tty_ ? 0.1 : log_every_s)) draw(false);
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  if (!extra.empty()) extra_ = extra;
  if (enabled_) draw(true);
}

void Progress::draw(bool final) {
  last_draw_ = clk::now();
  double el = elapsed_s();
  double rate = el > 0 ? done_ / el : 0;
  double frac = total_ ? static_cast<double>(done_) / total_ : 0;
  if (frac > 1) frac = 1;
  double eta = rate > 0 && total_ > done_ ? (total_ - done_) / rate : 0;
  char bar[25];
  int filled = static_cast<int>(frac * 22 + 0.5);
  for (int i = 0; i < 22; ++i) bar[i] = i < filled ? '#' : '.';
  bar[22] = 0;
  char line[512];
  std::snprintf(line, sizeof line, "%s [%s] %5.1f%%  %llu/%llu %s  %.1f %s/s  %s %s  %s",
                label_.c_str(), bar, 100 * frac, (unsigned long long)done_,
                (unsigned long long)total_, unit_.c_str(), rate, unit_.c_str(),
                final ? "took" : "ETA", format_duration(final ? el : eta).c_str(),
                extra_.c_str());
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line);
  std::fflush(stderr);
}

}  // namespace ogpt::util
