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

namespace ogpt::probes {

// A game position as a picture: a green board, black discs filled, white discs open, a1
// top-left. Marks for the next-move question: the legal moves of the side to move get a small
// dot, the squares of `boxed` (e.g. the model's top-N prediction) a thick yellow outline, the
// squares of `highlight` (e.g. an edited cell) a red dashed outline, and an empty square with a
// finite `probs` value shows it as a percentage (the model's next-move probability).
struct PositionPicture {
  std::string title, caption;     // caption: one line under the board
  uint64_t black = 0, white = 0;  // bit = square (row*8+col)
  uint64_t legal = 0, boxed = 0, highlight = 0;
  std::array<double, 64> probs;   // NaN = none
  PositionPicture();
};

std::string render_position_svg(const PositionPicture& p);

}  // namespace ogpt::probes
