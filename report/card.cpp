#include "report/card.hpp"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <set>
#include <string_view>
#include <vector>

#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace ogpt::report {

namespace fs = std::filesystem;

std::string model_dir_of(const std::string& resolved_checkpoint) {
  std::error_code ec;
  if (fs::is_directory(resolved_checkpoint, ec)) return resolved_checkpoint;
  const fs::path parent = fs::path(resolved_checkpoint).parent_path();
  return parent.empty() ? "." : parent.string();
}

namespace {
// Whether the (lower-cased) SVG is a picture only: made of the elements our plots use (no
// script, foreignObject, image, a, style, animate...), with no event handler attribute
// (on...=) and no link or URL that leaves the picture (href and url() only to "#id"). An
// allowlist, case-insensitive as HTML parsers are: a list of bad spellings is never complete.
bool is_plain_picture(const std::string& low) {
  static const std::set<std::string, std::less<>> kElements = {
      "svg", "g", "rect", "line", "polyline", "polygon", "path", "circle", "ellipse", "text", "tspan",
      "title", "desc", "defs", "use", "clippath", "lineargradient", "radialgradient", "stop"};
  auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_'; };
  for (size_t p = low.find('<'); p != std::string::npos; p = low.find('<', p + 1)) {
    size_t b = p + 1;
    if (b < low.size() && low[b] == '/') ++b;
    if (low.compare(b, 3, "!--") == 0) continue;  // a comment
    size_t e = b;
    while (e < low.size() && name_char(low[e])) ++e;
    if (!kElements.count(std::string_view(low).substr(b, e - b))) return false;
  }
  for (size_t p = low.find("on"); p != std::string::npos; p = low.find("on", p + 1)) {
    const char before = p ? low[p - 1] : 'x';  // an attribute follows a space, '/' or a quote
    if (!(std::isspace(static_cast<unsigned char>(before)) || before == '/' || before == '"' || before == '\''))
      continue;
    size_t e = p + 2;
    while (e < low.size() && std::isalpha(static_cast<unsigned char>(low[e]))) ++e;
    while (e < low.size() && std::isspace(static_cast<unsigned char>(low[e]))) ++e;
    if (e > p + 2 && e < low.size() && low[e] == '=') return false;
  }
  for (const char* ref : {"href", "url("})
    for (size_t p = low.find(ref); p != std::string::npos; p = low.find(ref, p + 1)) {
      size_t e = p + std::strlen(ref);
      while (e < low.size() && (low[e] == '=' || low[e] == '"' || low[e] == '\'' || std::isspace(static_cast<unsigned char>(low[e]))))
        ++e;
      if (e >= low.size() || low[e] != '#') return false;
    }
  return low.find("javascript:") == std::string::npos;
}
}  // namespace

std::string inline_svg(const std::string& svg) {
  const size_t begin = svg.find("<svg");
  const size_t end = svg.rfind("</svg>");
  if (begin == std::string::npos || end == std::string::npos || end < begin) return "";
  std::string s = svg.substr(begin, end + 6 - begin);
  std::string low = s;
  for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return is_plain_picture(low) ? s : "";
}

std::string scope_svg_ids(const std::string& svg, const std::string& prefix) {
  std::vector<std::string> ids;
  for (size_t p = svg.find(" id=\""); p != std::string::npos; p = svg.find(" id=\"", p + 1)) {
    const size_t b = p + 5, e = svg.find('"', b);
    if (e == std::string::npos) break;
    ids.push_back(svg.substr(b, e - b));
  }
  std::string s = svg;
  auto replace_all = [&s](const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  };
  for (const auto& id : ids) {
    replace_all(" id=\"" + id + "\"", " id=\"" + prefix + id + "\"");
    replace_all("url(#" + id + ")", "url(#" + prefix + id + ")");
    replace_all("href=\"#" + id + "\"", "href=\"#" + prefix + id + "\"");
  }
  return s;
}

ModelCard load_card(const std::string& dir) {
  ModelCard c;
  c.path = (fs::path(dir) / "card.json").string();
  std::error_code ec;
  std::string curve = "curve.svg";  // a training run directory has one even without a card
  if (!fs::exists(c.path, ec)) {
    c.note = "no model card at " + c.path;
  } else {
    try {
      c.card = nlohmann::json::parse(util::read_file(c.path));
      if (!c.card.is_object()) throw std::runtime_error("not a JSON object");
      c.found = true;
    } catch (const std::exception& e) {
      c.card = nullptr;
      c.note = c.path + " could not be read: " + e.what();
    }
  }
  if (c.found && c.card.contains("curve_svg") && c.card["curve_svg"].is_string())
    curve = c.card["curve_svg"].get<std::string>();
  auto add_note = [&c](const std::string& n) { c.note += (c.note.empty() ? "" : "; ") + n; };
  // Only a file beside the card (no absolute paths or '..': the card is data, not a pointer).
  if (curve.empty() || curve.find("..") != std::string::npos || curve[0] == '/') {
    add_note("the card's curve_svg '" + curve + "' is not a file name beside the card");
    return c;
  }
  c.curve_path = (fs::path(dir) / curve).string();
  if (!fs::exists(c.curve_path, ec)) {
    add_note("no training curve at " + c.curve_path);
    return c;
  }
  try {
    c.curve_svg = inline_svg(util::read_file(c.curve_path));
    if (c.curve_svg.empty()) add_note(c.curve_path + " is not a plain SVG picture; not inlined");
  } catch (const UserError& e) {
    add_note(e.what());
  }
  return c;
}

}  // namespace ogpt::report
