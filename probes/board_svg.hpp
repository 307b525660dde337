#pragma once
// A board-shaped SVG picture of one value per cell (e.g. a probe's per-cell accuracy): an 8x8
// grid, a1 top-left (the project's board orientation), column letters a..h above, row digits
// 1..8 on the left, each cell coloured on a scale and labelled with its value, and a colour bar.
// No dependencies; the caller writes the string (util::write_file_atomic).
#include <array>
#include <string>

namespace ogpt::probes {

struct BoardPicture {
  std::string title;
  std::array<double, 64> values{};  // index = square (row*8+col); NaN draws a grey cell
  double lo = 0.5, hi = 1.0;        // colour scale range (values are clamped)
  bool percent = true;              // label cells as "97.3" (x100) rather than "0.973"
};

std::string render_board_svg(const BoardPicture& b);

}  // namespace ogpt::probes
