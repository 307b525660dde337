#pragma once
// A one-line progress bar for anything longer than a few seconds:
//   train  [#########.............]  45.0%  4500/10000 games  312.4 games/s  ETA 0:17  loss 2.31
// Redrawn at most ~10 times a second on a terminal (stderr); on a non-terminal (CI, a pipe) it
// prints a plain line every `log_every_s` seconds instead, so logs stay readable.
#include <chrono>
#include <cstdint>
#include <string>

namespace ogpt::util {

class Progress {
 public:
  Progress(std::string label, uint64_t total, std::string unit, bool enabled = true);
  ~Progress();  // finishes the line
  void update(uint64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");
  double elapsed_s() const;
  static std::string format_duration(double seconds);  // "1:02:03" / "2:03"

  double log_every_s = 10.0;

 private:
  void draw(bool final);
  std::string label_, unit_, extra_;
  uint64_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace ogpt::util
