// Board-shaped SVG heat map.
#include "probes/board_svg.hpp"
#include "util/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ogpt::probes {

namespace {
// A sequential red -> yellow -> green scale (low = red), readable in print and for most
// colour-blind readers because lightness also changes.
std::string scale_color(double t) {
  t = std::clamp(t, 0.0, 1.0);
  const double stops[3][3] = {{215, 48, 39}, {254, 224, 139}, {26, 152, 80}};
  const int i = t < 0.5 ? 0 : 1;
  const double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", int(stops[i][0] + u * (stops[i + 1][0] - stops[i][0])),
                int(stops[i][1] + u * (stops[i + 1][1] - stops[i][1])), int(stops[i][2] + u * (stops[i + 1][2] - stops[i][2])));
  return buf;
}
std::string fmt(double v, bool percent) {
  char buf[32];
  if (!std::isfinite(v)) return "-";
  if (percent) std::snprintf(buf, sizeof buf, "%.1f", v * 100);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}
}  // namespace

std::string render_board_svg(const BoardPicture& b) {
  const int cell = 48, left = 30, top = 56, bar_w = 16, H = top + 8 * cell + 20;
  // Wide enough for the title (about 9.5 px per character at 15 px bold).
  const int W = std::max(left + 8 * cell + 70, left + int(9.5 * double(b.title.size())) + 10);
  std::string s;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                W, H, W, H);
  s += buf;
  std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"20\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", left,
                util::xml_escape(b.title).c_str());
  s += buf;
  for (int c = 0; c < 8; ++c) {
    std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\">%c</text>\n",
                  left + c * cell + cell / 2, top - 8, 'a' + c);
    s += buf;
  }
  for (int r = 0; r < 8; ++r) {
    std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\">%d</text>\n",
                  left - 14, top + r * cell + cell / 2 + 5, r + 1);
    s += buf;
  }
  const double span = b.hi > b.lo ? b.hi - b.lo : 1.0;
  for (int sq = 0; sq < 64; ++sq) {
    const int r = sq / 8, c = sq % 8;
    const double v = b.values[sq];
    const std::string fill = std::isfinite(v) ? scale_color((v - b.lo) / span) : "#cccccc";
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#333\" stroke-width=\"1\">"
                  "<title>%c%d: %s</title></rect>\n"
                  "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n",
                  left + c * cell, top + r * cell, cell, cell, fill.c_str(), 'a' + c, r + 1, fmt(v, b.percent).c_str(),
                  left + c * cell + cell / 2, top + r * cell + cell / 2 + 4, fmt(v, b.percent).c_str());
    s += buf;
  }
  // Colour bar: hi at the top.
  const int bx = left + 8 * cell + 14, steps = 32;
  for (int i = 0; i < steps; ++i) {
    std::snprintf(buf, sizeof buf, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", bx,
                  top + i * 8 * cell / steps, bar_w, 8 * cell / steps + 1,
                  scale_color(1.0 - (i + 0.5) / steps).c_str());
    s += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n",
                bx + bar_w + 3, top + 10, fmt(b.hi, b.percent).c_str(), bx + bar_w + 3, top + 8 * cell,
                fmt(b.lo, b.percent).c_str());
  s += buf;
  s += "</svg>\n";
  return s;
}

PositionPicture::PositionPicture() { probs.fill(std::nan("")); }

std::string render_position_svg(const PositionPicture& p) {
  const int cell = 44, left = 30, top = 50, W = std::max(left + 8 * cell + 20, left + int(8.5 * double(p.title.size()))),
            H = top + 8 * cell + (p.caption.empty() ? 14 : 34);
  std::string s;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">%s</text>\n",
                W, H, W, H, left, util::xml_escape(p.title).c_str());
  s += buf;
  for (int i = 0; i < 8; ++i) {
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%c</text>\n"
                  "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%d</text>\n",
                  left + i * cell + cell / 2, top - 7, 'a' + i, left - 14, top + i * cell + cell / 2 + 4, i + 1);
    s += buf;
  }
  for (int sq = 0; sq < 64; ++sq) {
    const int x = left + (sq % 8) * cell, y = top + (sq / 8) * cell, cx = x + cell / 2, cy = y + cell / 2;
    const bool black = p.black >> sq & 1, white = p.white >> sq & 1;
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#2e8b57\" stroke=\"#114422\"/>\n", x, y,
                  cell, cell);
    s += buf;
    if (black || white) {
      std::snprintf(buf, sizeof buf, "<circle cx=\"%d\" cy=\"%d\" r=\"%d\" fill=\"%s\" stroke=\"#111\"/>\n", cx, cy,
                    cell / 2 - 5, black ? "#111" : "#f8f8f8");
      s += buf;
    }
    if (p.legal >> sq & 1) {
      std::snprintf(buf, sizeof buf, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#cfe8d8\"/>\n", cx, y + 10);
      s += buf;
    }
    if (!black && !white && std::isfinite(p.probs[sq]) && p.probs[sq] >= 0.005) {
      std::snprintf(buf, sizeof buf,
                    "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"white\">%.0f%%</text>\n",
                    cx, cy + 9, 100 * p.probs[sq]);
      s += buf;
    }
    if (p.boxed >> sq & 1) {
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#ffd400\" "
                    "stroke-width=\"3\"/>\n",
                    x + 2, y + 2, cell - 4, cell - 4);
      s += buf;
    }
    if (p.highlight >> sq & 1) {
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#e53935\" "
                    "stroke-width=\"3\" stroke-dasharray=\"5 3\"/>\n",
                    x + 1, y + 1, cell - 2, cell - 2);
      s += buf;
    }
  }
  if (!p.caption.empty()) {
    std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#333\">%s</text>\n", left,
                  top + 8 * cell + 20, util::xml_escape(p.caption).c_str());
    s += buf;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace ogpt::probes
