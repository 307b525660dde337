#pragma once
// A fresh directory under the system temp dir for one test, removed with everything in it at the
// end. The pid in the name keeps parallel ctest processes apart.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace ogpt::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("ogpt_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // The directory, or a path inside it.
  std::string str(const std::string& sub = "") const { return (sub.empty() ? path : path / sub).string(); }
};

}  // namespace ogpt::test
