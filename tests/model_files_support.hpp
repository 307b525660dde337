#pragma once
// Shared by the model-file tests (test_model_files.cpp, test_model_checkpoint.cpp).
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "util/error.hpp"

namespace ogpt::test {

// The Python-written fixtures (scripts/make_reference.py).
inline const std::string kFix = std::string(OGPT_SOURCE_DIR) + "/tests/fixtures/reference/";

inline std::string temp_path(const std::string& name) {
  return "/tmp/ogpt_test_files_" + std::to_string(::getpid()) + "_" + name;
}

// Every way of cutting a file short must be refused with a UserError, never crash.
template <class F>
void check_truncations_refused(const std::string& bytes, F parse, size_t step = 1) {
  for (size_t n = 0; n < bytes.size(); n += step) {
    INFO("truncated to " << n << " of " << bytes.size() << " bytes");
    CHECK_THROWS_AS(parse(std::string_view(bytes).substr(0, n)), UserError);
  }
}

}  // namespace ogpt::test
