#pragma once
// Little-endian values at any (unaligned) address of a file held in memory. The project targets
// little-endian hosts (x86-64, arm64), so this is a memcpy; readers of outside files use it
// instead of casting pointers, which would be misaligned access.
#include <cstring>

namespace ogpt::util {

template <class T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace ogpt::util
