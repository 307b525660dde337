#pragma once
// Refusals of option values that CLI11's number parsing lets through: NaN and infinity for
// floats, and out-of-range integers that would otherwise be clamped or ignored in silence.
// Each throws UserError(kUsage) naming the option, so a typo never runs as something else.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "util/error.hpp"

namespace ogpt::cli {

// finite and > 0
inline void require_positive(double v, const char* option) {
  if (!(std::isfinite(v) && v > 0)) throw UserError(std::string(option) + " must be a positive finite number", kUsage);
}
// finite and >= 0
inline void require_nonnegative(double v, const char* option) {
  if (!(std::isfinite(v) && v >= 0))
    throw UserError(std::string(option) + " must be a finite number >= 0", kUsage);
}
// finite and in [lo, hi), or [lo, hi] when hi_included
inline void require_in(double v, double lo, double hi, const char* option, bool hi_included = false) {
  if (!(std::isfinite(v) && v >= lo && (hi_included ? v <= hi : v < hi))) {
    char range[96];
    std::snprintf(range, sizeof range, "[%g, %g%c", lo, hi, hi_included ? ']' : ')');
    throw UserError(std::string(option) + " must be in " + range, kUsage);
  }
}
// integer in [lo, hi]
inline void require_range(int64_t v, int64_t lo, int64_t hi, const char* option) {
  if (v < lo || v > hi)
    throw UserError(std::string(option) + " must be in " + std::to_string(lo) + ".." + std::to_string(hi) +
                        " (got " + std::to_string(v) + ")",
                    kUsage);
}
// Unsigned counts: CLI11 reads "-1" as 2^64-1, so a bound is the only place a sign slip shows.
inline void require_count(uint64_t v, uint64_t hi, const char* option) {
  if (v > hi)
    throw UserError(std::string(option) + " must be at most " + std::to_string(hi) + " (got " + std::to_string(v) +
                        (v > (uint64_t(1) << 63) ? ": a negative number?)" : ")"),
                    kUsage);
}

// An output that is one of the inputs: the rename at the end of the write would replace the
// user's data with the converted copy (text over binary, or back).
inline void require_not_input(const std::string& out, const std::string& in, const char* option) {
  std::error_code ec;
  if (std::filesystem::equivalent(out, in, ec))
    throw UserError(std::string(option) + " " + out + " is the input file " + in +
                        ": writing it would replace the input; choose another " + option,
                    kUsage);
}

}  // namespace ogpt::cli
