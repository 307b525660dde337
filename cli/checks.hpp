#pragma once
// Refusals of option values that CLI11's number parsing lets through: NaN and infinity for
// floats, and out-of-range integers that would otherwise be clamped or ignored in silence.
// Each throws UserError(kUsage) naming the option, so a typo never runs as something else.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/registry.hpp"
#include "model/model_path.hpp"
#include "probes/probe_file.hpp"
#include "util/error.hpp"

namespace ogpt::cli {

// CLI11 validators (->check(cli::positive())) that say what they want in words: CLI11's own
// PositiveNumber lets NaN through (then read as "unset, use the default") and prints its upper
// bound as DBL_MAX written out in full. Both refuse NaN, infinity and anything not a number.
inline CLI::Validator number_validator(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& s) -> std::string {
        double v = 0;
        size_t used = 0;
        try {
          v = std::stod(s, &used);
        } catch (const std::exception&) {
        }
        const char* want = zero_allowed ? "a finite number >= 0" : "a positive finite number";
        if (used == 0 || used != s.size() || !std::isfinite(v) || v < 0 || (v == 0 && !zero_allowed))
          return std::string("must be ") + want + " (got " + s + ")";
        return "";
      },
      zero_allowed ? "NUMBER>=0" : "NUMBER>0");
}
inline CLI::Validator positive() { return number_validator(false); }
inline CLI::Validator nonnegative() { return number_validator(true); }

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

// No output may be one of the command's inputs (the rename at the end of the write would replace
// the user's data: a model by a picture, text by binary) or another output. Inputs are files
// (an empty option name leaves it out of the message); model_input and add_probe_inputs below turn a --model or --probe argument (a directory, or empty for the shipped
// one) into the files it reads. Empty paths are skipped.
struct NamedPath {
  std::string option, path;
};
inline void require_outputs_apart(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs) {
  std::error_code ec;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& o = outputs[i];
    if (o.path.empty()) continue;
    for (const NamedPath& in : inputs)
      if (!in.path.empty() && std::filesystem::equivalent(o.path, in.path, ec))
        throw UserError(o.option + " " + o.path + " is the input file " + in.path +
                            (in.option.empty() ? "" : " (" + in.option + ")") +
                            ": writing it would replace the input; choose another " + o.option,
                        kUsage);
    for (size_t j = 0; j < i; ++j)  // a second write to one file would keep only the last
      if (!outputs[j].path.empty() &&
          (o.path == outputs[j].path || std::filesystem::equivalent(o.path, outputs[j].path, ec)))
        throw UserError(o.option + " and " + outputs[j].option + " are the same file " + o.path +
                            ": choose two different files",
                        kUsage);
  }
}
// One output, one input.
inline void require_not_input(const std::string& out, const std::string& in, const char* option) {
  require_outputs_apart({{option, out}}, {{"", in}});
}
// The checkpoint a --model argument reads; empty where it names nothing (the load reports that).
inline NamedPath model_input(const std::string& arg, const char* option = "--model") {
  try {
    return {option, model::resolve_model_path(arg, default_model_path())};
  } catch (const std::exception&) {
    return {option, ""};
  }
}
// The probe files a --probe argument reads (a file, or every *.probe of a directory; empty: the
// shipped probes), appended to *inputs.
inline void add_probe_inputs(std::vector<NamedPath>* inputs, const std::string& arg, const char* option = "--probe") {
  try {
    for (std::string& f : probes::probe_files_at(arg.empty() ? default_model_path() + "/probes" : arg))
      inputs->push_back({option, std::move(f)});
  } catch (const std::exception&) {  // unreadable: the load reports it
  }
}

}  // namespace ogpt::cli
