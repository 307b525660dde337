#include "util/error.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace ogpt {

namespace {
// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 if it is not one. Overlong
// forms, surrogates and code points above U+10FFFF are invalid.
size_t utf8_length(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}
}  // namespace

std::string printable(const std::string& msg, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(msg.size(), max_bytes) + 16);
  size_t i = 0;
  while (i < msg.size() && out.size() < max_bytes) {
    const unsigned char c = static_cast<unsigned char>(msg[i]);
    const size_t n = utf8_length(msg, i);
    if (n == 0 || c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
    } else {
      out.append(msg, i, n);
      i += n;
    }
  }
  if (i < msg.size()) out += "... (" + std::to_string(msg.size() - i) + " more bytes)";
  return out;
}

}  // namespace ogpt
