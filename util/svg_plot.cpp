#include "util/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ogpt::util {

namespace {

const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

bool usable(double x, double y, bool log_y) {
  return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0);
}

// Decade ticks for a log axis: 10^k inside [lo, hi] (lo, hi > 0); adds 2x and 5x when few.
std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> t;
  int k0 = static_cast<int>(std::floor(std::log10(lo))), k1 = static_cast<int>(std::ceil(std::log10(hi)));
  bool dense = k1 - k0 <= 2;
  for (int k = k0; k <= k1; ++k)
    for (double m : {1.0, 2.0, 5.0}) {
      if (m != 1.0 && !dense) continue;
      double v = m * std::pow(10.0, k);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t.push_back(v);
    }
  return t;
}

// Draws one plot with its top-left corner at (ox, oy).
void draw_plot(std::string& o, const Plot& p, double ox, double oy, size_t index) {
  const double W = p.width, H = p.height;
  const double left = 70, right = p.legend_outside ? 170 : 20, top = 36, bottom = 50;
  const double pw = W - left - right, ph = H - top - bottom;
  // Data range.
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (auto& s : p.series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (usable(s.x[i], s.y[i], p.log_y)) {
        xmin = std::min(xmin, s.x[i]);
        xmax = std::max(xmax, s.x[i]);
        ymin = std::min(ymin, s.y[i]);
        ymax = std::max(ymax, s.y[i]);
      }
  if (!(xmin <= xmax)) xmin = 0, xmax = 1;
  if (!(ymin <= ymax)) ymin = p.log_y ? 0.1 : 0, ymax = 1;
  if (std::isfinite(p.x_min)) xmin = p.x_min;
  if (std::isfinite(p.x_max)) xmax = p.x_max;
  if (std::isfinite(p.y_min)) ymin = p.y_min;
  if (std::isfinite(p.y_max)) ymax = p.y_max;
  if (xmax <= xmin) xmax = xmin + 1;
  if (ymax <= ymin) {
    if (p.log_y) ymin /= 2, ymax *= 2;
    else ymin -= 0.5, ymax += 0.5;
  }
  // x spans the data exactly (a curve ends at the right edge); y is widened to nice ticks.
  std::vector<double> xt = nice_ticks(xmin, xmax), yt;
  if (p.log_y) {
    if (!std::isfinite(p.y_min)) ymin = std::pow(10.0, std::floor(std::log10(ymin)));
    if (!std::isfinite(p.y_max)) ymax = std::pow(10.0, std::ceil(std::log10(ymax)));
    yt = log_ticks(ymin, ymax);
  } else {
    yt = nice_ticks(ymin, ymax);
    if (!std::isfinite(p.y_min) && !yt.empty()) ymin = std::min(ymin, yt.front());
    if (!std::isfinite(p.y_max) && !yt.empty()) ymax = std::max(ymax, yt.back());
  }
  auto fy = [&](double y) { return p.log_y ? std::log10(y) : y; };
  auto sx = [&](double x) { return ox + left + (x - xmin) / (xmax - xmin) * pw; };
  auto sy = [&](double y) { return oy + top + ph - (fy(y) - fy(ymin)) / (fy(ymax) - fy(ymin)) * ph; };

  o += "<g font-family=\"sans-serif\" font-size=\"11\">\n";
  o += "<text x=\"" + num(ox + W / 2) + "\" y=\"" + num(oy + 20) +
       "\" text-anchor=\"middle\" font-size=\"14\">" + xml_escape(p.title) + "</text>\n";
  // Grid and ticks.
  for (double t : xt) {
    if (t < xmin || t > xmax) continue;
    o += "<line x1=\"" + num(sx(t)) + "\" y1=\"" + num(oy + top) + "\" x2=\"" + num(sx(t)) +
         "\" y2=\"" + num(oy + top + ph) + "\" stroke=\"#e5e5e5\"/>\n";
    o += "<text x=\"" + num(sx(t)) + "\" y=\"" + num(oy + top + ph + 15) +
         "\" text-anchor=\"middle\">" + format_tick(t) + "</text>\n";
  }
  for (double t : yt) {
    if (t < ymin || t > ymax) continue;
    o += "<line x1=\"" + num(ox + left) + "\" y1=\"" + num(sy(t)) + "\" x2=\"" + num(ox + left + pw) +
         "\" y2=\"" + num(sy(t)) + "\" stroke=\"#e5e5e5\"/>\n";
    o += "<text x=\"" + num(ox + left - 6) + "\" y=\"" + num(sy(t) + 4) +
         "\" text-anchor=\"end\">" + format_tick(t) + "</text>\n";
  }
  o += "<rect x=\"" + num(ox + left) + "\" y=\"" + num(oy + top) + "\" width=\"" + num(pw) +
       "\" height=\"" + num(ph) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  o += "<text x=\"" + num(ox + left + pw / 2) + "\" y=\"" + num(oy + H - 12) +
       "\" text-anchor=\"middle\">" + xml_escape(p.x_label) + "</text>\n";
  o += "<text transform=\"translate(" + num(ox + 16) + "," + num(oy + top + ph / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(p.y_label) + "</text>\n";
  // Series, clipped to the frame.
  std::string cid = "clip" + std::to_string(index);
  o += "<clipPath id=\"" + cid + "\"><rect x=\"" + num(ox + left) + "\" y=\"" + num(oy + top) +
       "\" width=\"" + num(pw) + "\" height=\"" + num(ph) + "\"/></clipPath>\n";
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    std::string color = s.color.empty() ? kPalette[k % 10] : s.color;
    std::string pts, dots;
    auto flush = [&] {
      if (!pts.empty())
        o += "<polyline clip-path=\"url(#" + cid + ")\" fill=\"none\" stroke=\"" + color +
             "\" stroke-width=\"1.6\" points=\"" + pts + "\"/>\n";
      pts.clear();
    };
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!usable(s.x[i], s.y[i], p.log_y)) {
        flush();
        continue;
      }
      pts += num(sx(s.x[i])) + "," + num(sy(s.y[i])) + " ";
      if (s.markers)
        dots += "<circle clip-path=\"url(#" + cid + ")\" cx=\"" + num(sx(s.x[i])) + "\" cy=\"" +
                num(sy(s.y[i])) + "\" r=\"2.5\" fill=\"" + color + "\"/>\n";
    }
    flush();
    o += dots;
    // Legend entry (top right, inside the frame or beside it).
    double ly = oy + top + 14 + 15 * k, lx = ox + left + pw + (p.legend_outside ? 12 : -150);
    o += "<line x1=\"" + num(lx) + "\" y1=\"" + num(ly - 4) + "\" x2=\"" + num(lx + 18) + "\" y2=\"" +
         num(ly - 4) + "\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
    o += "<text x=\"" + num(lx + 24) + "\" y=\"" + num(ly) + "\">" + xml_escape(s.name) + "</text>\n";
  }
  o += "</g>\n";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> t;
  if (!(std::isfinite(lo) && std::isfinite(hi)) || hi < lo || target < 1) return t;
  if (hi == lo) return {lo};
  double raw = (hi - lo) / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  double first = std::floor(lo / step + 1e-9) * step;
  double last = std::ceil(hi / step - 1e-9) * step;
  for (int i = 0;; ++i) {
    double v = first + i * step;
    if (v > last + step * 1e-6) break;
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  return t;
}

std::string format_tick(double v) {
  char b[32];
  double a = std::abs(v);
  if (a == 0) return "0";
  if (a >= 1e9) std::snprintf(b, sizeof b, "%gG", v / 1e9);
  else if (a >= 1e6) std::snprintf(b, sizeof b, "%gM", v / 1e6);
  else if (a >= 1e4) std::snprintf(b, sizeof b, "%gk", v / 1e3);
  else std::snprintf(b, sizeof b, "%g", v);
  return b;
}

std::string render_svg(const Plot& p) { return render_svg_grid({p}, 1); }

std::string render_svg_grid(const std::vector<Plot>& plots, int columns) {
  columns = std::max(1, columns);
  int rows = static_cast<int>((plots.size() + columns - 1) / columns);
  int cell_w = 0, cell_h = 0;
  for (auto& p : plots) cell_w = std::max(cell_w, p.width), cell_h = std::max(cell_h, p.height);
  int ncol = std::min<int>(columns, static_cast<int>(plots.size()));
  int W = std::max(1, ncol) * std::max(cell_w, 1), H = std::max(rows, 1) * std::max(cell_h, 1);
  std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(W) +
                  "\" height=\"" + std::to_string(H) + "\" viewBox=\"0 0 " + std::to_string(W) +
                  " " + std::to_string(H) + "\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (size_t i = 0; i < plots.size(); ++i)
    draw_plot(o, plots[i], static_cast<double>((i % columns) * cell_w),
              static_cast<double>((i / columns) * cell_h), i);
  o += "</svg>\n";
  return o;
}

}  // namespace ogpt::util
