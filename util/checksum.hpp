#pragma once
// CRC-32 (zlib's), used by every file format of the project to detect corruption.
#include <cstddef>
#include <cstdint>
#include <zlib.h>

namespace ogpt::util {
inline uint32_t crc32(const void* data, size_t n, uint32_t prev = 0) {
  // zlib takes uInt lengths; feed large buffers in chunks.
  const auto* p = static_cast<const unsigned char*>(data);
  uLong c = prev;
  while (n > 0) {
    uInt chunk = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
    c = ::crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(c);
}
}  // namespace ogpt::util
