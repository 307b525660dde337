#pragma once
// JSON text for output. Strings we print may hold bytes that are not UTF-8 (a file name is any
// bytes on Linux); nlohmann's default dump throws on them, which would turn a finished command
// into an internal error at its last line. Such bytes are written as U+FFFD instead.
#include <string>

#include <nlohmann/json.hpp>

namespace ogpt::util {

inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ogpt::util
