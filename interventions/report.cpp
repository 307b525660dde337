#include "interventions/report.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "util/error.hpp"
#include "util/svg_plot.hpp"

namespace ogpt::interventions {

using othello::Bitboard;

Saliency latent_saliency(model::GPT& gpt, const ProbeSet& probes, const std::vector<int>& moves,
                         const InterventionOptions& opt, int move) {
  Saliency s;
  s.board = board_after(moves);
  if (othello::get_moves(s.board) == 0) throw UserError("the game is over after these moves: nothing to attribute");
  const auto clean = run_model(gpt, {moves}, probes, {}, {}, opt);
  if (move < 0) {
    move = 0;
    for (int sq = 1; sq < 64; ++sq)
      if (clean[0].probs[sq] > clean[0].probs[move]) move = sq;
  }
  s.move = move;
  s.p0 = clean[0].probs[move];
  std::vector<std::vector<int>> prefixes;
  std::vector<BoardEdit> edits;
  std::vector<othello::Color> to_move;
  std::vector<int> cells;
  s.cells = s.board.player | s.board.opponent;
  for (int c : othello::squares_of(s.cells)) {
    const CellState now = get_cell_state(s.board, c);
    prefixes.push_back(moves);
    edits.push_back(BoardEdit{{c}, {now == CellState::mine ? CellState::theirs : CellState::mine}});
    to_move.push_back(s.board.to_move);
    cells.push_back(c);
  }
  const auto flipped = run_model(gpt, prefixes, probes, edits, to_move, opt);
  for (size_t i = 0; i < cells.size(); ++i) s.s[cells[i]] = s.p0 - flipped[i].probs[move];
  return s;
}

namespace {

// Diverging scale: blue (-1) .. white (0) .. red (+1).
std::string colour(double v) {
  v = std::clamp(v, -1.0, 1.0);
  int r, g, b;
  if (v >= 0) {
    r = 255;
    g = static_cast<int>(255 - 200 * v);
    b = static_cast<int>(255 - 220 * v);
  } else {
    r = static_cast<int>(255 + 220 * v);
    g = static_cast<int>(255 + 150 * v);
    b = 255;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
  return buf;
}

}  // namespace

std::string saliency_svg(const Saliency& s, const std::string& title) {
  const int cell = 48, x0 = 40, y0 = 60, W = x0 + 8 * cell + 120, H = y0 + 8 * cell + 50;
  double vmax = 1e-6;
  for (int c = 0; c < 64; ++c) vmax = std::max(vmax, std::fabs(double(s.s[c])));
  std::string o;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">\n"
                "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                W, H);
  o += buf;
  o += "<text x=\"" + std::to_string(x0) + "\" y=\"22\" font-size=\"14\">" + util::xml_escape(title) + "</text>\n";
  std::snprintf(buf, sizeof buf,
                "<text x=\"%d\" y=\"40\" font-size=\"11\" fill=\"#444\">S = p(%s) - p(%s | cell flipped); "
                "p(%s) = %.3f; boxed: the attributed move</text>\n",
                x0, othello::square_name(s.move).c_str(), othello::square_name(s.move).c_str(),
                othello::square_name(s.move).c_str(), s.p0);
  o += buf;
  for (int c = 0; c < 8; ++c) {
    std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\">%c</text>\n",
                  x0 + c * cell + cell / 2, y0 - 6, 'a' + c);
    o += buf;
  }
  for (int r = 0; r < 8; ++r) {
    std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\">%d</text>\n",
                  x0 - 14, y0 + r * cell + cell / 2 + 5, r + 1);
    o += buf;
  }
  const Bitboard black = s.board.black(), white = s.board.white();
  for (int sq = 0; sq < 64; ++sq) {
    const int r = sq / 8, c = sq % 8, x = x0 + c * cell, y = y0 + r * cell;
    const bool occ = s.cells >> sq & 1;
    std::snprintf(buf, sizeof buf, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#999\"/>\n",
                  x, y, cell, cell, occ ? colour(s.s[sq] / vmax).c_str() : "#f4f4f4");
    o += buf;
    if ((black | white) >> sq & 1) {
      const bool blk = black >> sq & 1;
      std::snprintf(buf, sizeof buf,
                    "<circle cx=\"%d\" cy=\"%d\" r=\"7\" fill=\"%s\" stroke=\"#222\"/>\n"
                    "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\" fill=\"#222\">%.2f</text>\n",
                    x + cell / 2, y + 14, blk ? "#111" : "#fff", x + cell / 2, y + cell - 8, s.s[sq]);
      o += buf;
    }
    if (sq == s.move) {
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\" stroke-width=\"4\"/>\n",
                    x + 2, y + 2, cell - 4, cell - 4);
      o += buf;
    }
  }
  // Colour bar.
  const int bx = x0 + 8 * cell + 30, bh = 8 * cell;
  for (int i = 0; i < 40; ++i) {
    const double v = 1.0 - 2.0 * i / 39.0;
    std::snprintf(buf, sizeof buf, "<rect x=\"%d\" y=\"%d\" width=\"18\" height=\"%d\" fill=\"%s\"/>\n", bx,
                  y0 + i * bh / 40, bh / 40 + 1, colour(v).c_str());
    o += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"%d\" y=\"%d\" font-size=\"11\">%+.3f</text>\n<text x=\"%d\" y=\"%d\" font-size=\"11\">0</text>\n"
                "<text x=\"%d\" y=\"%d\" font-size=\"11\">%+.3f</text>\n",
                bx + 22, y0 + 10, vmax, bx + 22, y0 + bh / 2 + 4, bx + 22, y0 + bh, -vmax);
  o += buf;
  std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#444\">discs: black filled, white open</text>\n",
                x0, y0 + 8 * cell + 25);
  o += buf;
  o += "</svg>\n";
  return o;
}

BenchRow summarise(const std::string& method, const std::string& kind, const std::string& set,
                   const std::vector<CaseResult>& results) {
  BenchRow row{method, kind, set};
  row.cases = static_cast<int>(results.size());
  if (results.empty()) return row;
  double se = 0, se2 = 0, sn = 0, sn2 = 0, ch = 0, ok = 0, su = 0;
  for (auto& r : results) {
    su += r.unedited_errors;
    se += r.errors;
    se2 += double(r.errors) * r.errors;
    sn += r.null_errors;
    sn2 += double(r.null_errors) * r.null_errors;
    ch += std::popcount(r.truth.legal_after ^ r.truth.legal_before);
    ok += r.errors == 0;
  }
  const double n = double(results.size());
  auto ci = [n](double s, double s2) {
    if (n < 2) return 0.0;
    const double mean = s / n, var = std::max(0.0, (s2 - n * mean * mean) / (n - 1));
    return 1.96 * std::sqrt(var / n);
  };
  row.errors_mean = se / n;
  row.errors_ci95 = ci(se, se2);
  row.null_mean = sn / n;
  row.null_ci95 = ci(sn, sn2);
  row.unedited_mean = su / n;
  row.changed_mean = ch / n;
  row.reached = ok / n;
  return row;
}

std::vector<BenchRow> summarise_by_set(const std::string& method, const std::string& kind,
                                       const std::vector<EditCase>& cases, const std::vector<CaseResult>& results) {
  std::vector<BenchRow> rows;
  for (CaseSet set : {CaseSet::reachable, CaseSet::unreachable}) {
    std::vector<CaseResult> part;
    double moves = 0, proven = 0;
    for (size_t i = 0; i < cases.size(); ++i)
      if (cases[i].set == set) {
        part.push_back(results[i]);
        moves += cases[i].moves.size();
        proven += cases[i].proven;
      }
    if (part.empty()) continue;
    rows.push_back(summarise(method, kind, case_set_name(set), part));
    rows.back().prefix_mean = moves / part.size();
    rows.back().proven = proven / part.size();
  }
  return rows;
}

std::string bench_svg(const std::vector<BenchRow>& rows, const std::string& title) {
  // Groups in first-seen order of (kind, set); bars: each method, then the null baseline.
  std::vector<std::string> groups, methods;
  for (auto& r : rows) {
    const std::string g = r.kind + " / " + r.set;
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
    if (std::find(methods.begin(), methods.end(), r.method) == methods.end()) methods.push_back(r.method);
  }
  const int nb = static_cast<int>(methods.size()) + 1, bw = 34, gap = 40;
  const int gw = nb * bw + gap, x0 = 76, y0 = 50, ph = 260;
  const int W = x0 + std::max<int>(1, (int)groups.size()) * gw + 40, H = y0 + ph + 90;
  double vmax = 0.5;
  for (auto& r : rows) vmax = std::max({vmax, r.errors_mean + r.errors_ci95, r.null_mean + r.null_ci95});
  vmax = std::ceil(vmax * 2) / 2;
  const char* palette[] = {"#3b7dd8", "#e07b39", "#4caf50", "#9c27b0"};
  auto ypix = [&](double v) { return y0 + ph - static_cast<int>(v / vmax * ph); };
  std::string o;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">\n"
                "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"24\" font-size=\"14\">%s</text>\n",
                W, H, x0, util::xml_escape(title).c_str());
  o += buf;
  for (int i = 0; i <= 4; ++i) {  // y axis
    const double v = vmax * i / 4;
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n"
                  "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%.2f</text>\n",
                  x0, W - 20, ypix(v), ypix(v), x0 - 6, ypix(v) + 4, v);
    o += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"18\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 18 %d)\">"
                "errors per case (top-N)</text>\n",
                y0 + ph / 2, y0 + ph / 2);
  o += buf;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const int gx = x0 + static_cast<int>(gi) * gw + gap / 2;
    for (int bi = 0; bi < nb; ++bi) {
      const BenchRow* row = nullptr;
      for (auto& r : rows)
        if (r.kind + " / " + r.set == groups[gi] && (bi == nb - 1 || r.method == methods[bi])) row = &r;
      if (!row) continue;
      const double mean = bi == nb - 1 ? row->null_mean : row->errors_mean;
      const double ci = bi == nb - 1 ? row->null_ci95 : row->errors_ci95;
      const int x = gx + bi * bw;
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n"
                    "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"black\"/>\n"
                    "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%.2f</text>\n",
                    x + 2, ypix(mean), bw - 4, y0 + ph - ypix(mean), bi == nb - 1 ? "#bbbbbb" : palette[bi % 4],
                    x + bw / 2, x + bw / 2, ypix(mean + ci), ypix(std::max(0.0, mean - ci)), x + bw / 2,
                    ypix(mean + ci) - 4, mean);
      o += buf;
    }
    std::snprintf(buf, sizeof buf, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n",
                  gx + nb * bw / 2, y0 + ph + 18, util::xml_escape(groups[gi]).c_str());
    o += buf;
  }
  int lx = x0;  // legend
  for (int bi = 0; bi < nb; ++bi) {
    const std::string name = bi == nb - 1 ? "null (unedited model)" : methods[bi];
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n"
                  "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>\n",
                  lx, y0 + ph + 40, bi == nb - 1 ? "#bbbbbb" : palette[bi % 4], lx + 16, y0 + ph + 51, util::xml_escape(name).c_str());
    o += buf;
    lx += 30 + 8 * static_cast<int>(name.size());
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#444\">whiskers: 95%% confidence interval of the mean</text>\n",
                x0, y0 + ph + 75);
  o += buf;
  o += "</svg>\n";
  return o;
}

}  // namespace ogpt::interventions
