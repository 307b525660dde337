#pragma once
// A small dependency-free SVG line-plot writer: named series (optionally with markers), axes with
// "nice" ticks, a legend, a title; linear or log10 y. Several plots can be laid out side by side
// in one picture (render_svg_grid). Used by `train` (DIR/curve.svg) and by the probe reports.
//
//   util::Plot p;  p.title = "Validation";  p.x_label = "games seen";  p.y_label = "excess loss";
//   p.series.push_back({"val", {x0, x1, ...}, {y0, y1, ...}});
//   util::write_file_atomic("curve.svg", util::render_svg(p));
//
// Points whose x or y is not finite (or y <= 0 on a log axis) are skipped: a series with gaps is
// drawn as separate polylines. An empty plot still renders its frame and title.
#include <limits>
#include <string>
#include <vector>

namespace ogpt::util {

struct Series {
  std::string name;
  std::vector<double> x, y;
  bool markers = false;     // a dot at every point (for sparse series)
  std::string color;        // empty: taken from the palette in order
};

struct Plot {
  static constexpr double kAuto = std::numeric_limits<double>::quiet_NaN();
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_y = false;
  // Axis limits; NaN = from the data (with nice rounding).
  double x_min = kAuto, x_max = kAuto, y_min = kAuto, y_max = kAuto;
  int width = 640, height = 400;
  // Legend to the right of the frame instead of inside its top-right corner: for plots with many
  // series or with curves near the top (the probe sweep), where the legend would hide them.
  bool legend_outside = false;
};

// "Nice" tick values covering [lo, hi] (about `target` of them; steps 1, 2, 5 x 10^k).
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// A short label for a tick value: 1500000 -> "1.5M", 0.25 -> "0.25", 2e-05 -> "2e-05".
std::string format_tick(double v);

// Text made safe for XML/HTML content and attribute values (& < > ").
std::string xml_escape(const std::string& s);

std::string render_svg(const Plot& p);
// Plots laid out in a grid, `columns` per row, in one <svg>.
std::string render_svg_grid(const std::vector<Plot>& plots, int columns = 2);

}  // namespace ogpt::util
