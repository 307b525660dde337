#include "model/zip.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "util/bytes.hpp"
#include "util/checksum.hpp"

namespace ogpt::model {

Zip::Zip(std::string_view bytes, const std::string& what) : b_(bytes), what_(what) { read_directory(); }

std::string Zip::read(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw UserError(what_ + ": zip entry '" + name + "' is missing");
  const ZipEntry& e = it->second;
  need(e.local_offset, 30, "local header of " + name);
  if (util::load_le<uint32_t>(b_.data() + e.local_offset) != 0x04034b50u)
    throw fail("bad local header signature for '" + name + "'", e.local_offset);
  const uint64_t data = e.local_offset + 30 + util::load_le<uint16_t>(b_.data() + e.local_offset + 26) +
                        util::load_le<uint16_t>(b_.data() + e.local_offset + 28);
  need(data, e.csize, "data of " + name);
  std::string out;
  if (e.method == 0) {
    if (e.csize != e.usize) throw fail("stored entry '" + name + "' has two sizes", e.local_offset);
    out.assign(b_.data() + data, e.csize);
  } else if (e.method == 8) {
    if (e.usize > (uint64_t{1} << 40)) throw fail("entry '" + name + "' is absurdly large", data);
    // Deflate expands at most ~1032:1: a larger claim is a lie (a tiny file asking for TiBs).
    if (e.usize > e.csize * 1032 + 1024)
      throw fail("entry '" + name + "' claims " + std::to_string(e.usize) + " bytes from " +
                     std::to_string(e.csize) + " compressed (corrupted)", data);
    out.resize(e.usize);
    z_stream zs{};
    if (inflateInit2(&zs, -15) != Z_OK) throw fail("zlib init failed", data);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b_.data() + data));
    zs.avail_in = static_cast<uInt>(std::min<uint64_t>(e.csize, std::numeric_limits<uInt>::max()));
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(std::min<uint64_t>(e.usize, std::numeric_limits<uInt>::max()));
    int rc = inflate(&zs, Z_FINISH);
    const uint64_t got = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || got != e.usize)
      throw fail("cannot inflate entry '" + name + "' (corrupted)", data);
  } else {
    throw fail("entry '" + name + "' uses zip method " + std::to_string(e.method) +
                   " (only stored and deflate are supported)", e.local_offset);
  }
  if (util::crc32(out.data(), out.size()) != e.crc)
    throw fail("crc32 mismatch in entry '" + name + "' (corrupted file)", data);
  return out;
}

UserError Zip::fail(const std::string& msg, uint64_t offset) const {
  return UserError(what_ + ": " + msg + " (byte " + std::to_string(offset) + ")");
}

void Zip::need(uint64_t off, uint64_t n, const std::string& of) const {
  if (off > b_.size() || n > b_.size() - off)
    throw fail("truncated: " + of + " runs past the end of the file", std::min<uint64_t>(off, b_.size()));
}

void Zip::read_directory() {
  // End of central directory: 22 bytes + a comment of up to 64 KiB, at the end of the file.
  if (b_.size() < 22) throw fail("too short to be a zip archive (truncated?)", 0);
  uint64_t eocd = std::numeric_limits<uint64_t>::max();
  const uint64_t lo = b_.size() > 22 + 65535 ? b_.size() - 22 - 65535 : 0;
  for (uint64_t p = b_.size() - 22 + 1; p-- > lo;)
    if (util::load_le<uint32_t>(b_.data() + p) == 0x06054b50u) {
      eocd = p;
      break;
    }
  if (eocd == std::numeric_limits<uint64_t>::max())
    throw fail("no zip end-of-directory record (truncated file?)", b_.size());
  uint64_t count = util::load_le<uint16_t>(b_.data() + eocd + 10);
  uint64_t cd_size = util::load_le<uint32_t>(b_.data() + eocd + 12);
  uint64_t cd_off = util::load_le<uint32_t>(b_.data() + eocd + 16);
  if (count == 0xffff || cd_off == 0xffffffffu || cd_size == 0xffffffffu) {
    // zip64: a locator just before the EOCD points at the zip64 EOCD record
    if (eocd < 20 || util::load_le<uint32_t>(b_.data() + eocd - 20) != 0x07064b50u)
      throw fail("zip64 locator missing", eocd);
    const uint64_t z = util::load_le<uint64_t>(b_.data() + eocd - 20 + 8);
    need(z, 56, "zip64 end-of-directory record");
    if (util::load_le<uint32_t>(b_.data() + z) != 0x06064b50u) throw fail("bad zip64 record", z);
    count = util::load_le<uint64_t>(b_.data() + z + 32);
    cd_size = util::load_le<uint64_t>(b_.data() + z + 40);
    cd_off = util::load_le<uint64_t>(b_.data() + z + 48);
  }
  need(cd_off, cd_size, "central directory");
  uint64_t p = cd_off;
  for (uint64_t i = 0; i < count; ++i) {
    need(p, 46, "central directory entry");
    const char* h = b_.data() + p;
    if (util::load_le<uint32_t>(h) != 0x02014b50u) throw fail("bad central directory entry", p);
    ZipEntry e;
    e.method = util::load_le<uint16_t>(h + 10);
    e.crc = util::load_le<uint32_t>(h + 16);
    e.csize = util::load_le<uint32_t>(h + 20);
    e.usize = util::load_le<uint32_t>(h + 24);
    const uint16_t n = util::load_le<uint16_t>(h + 28), x = util::load_le<uint16_t>(h + 30), c = util::load_le<uint16_t>(h + 32);
    e.local_offset = util::load_le<uint32_t>(h + 42);
    need(p + 46, uint64_t{n} + x + c, "central directory entry");
    std::string name(h + 46, n);
    // zip64 extra field (id 1): the 64-bit values that were 0xffffffff, in this order
    for (uint64_t q = 0; q + 4 <= x;) {
      const char* f = h + 46 + n + q;
      const uint16_t id = util::load_le<uint16_t>(f), len = util::load_le<uint16_t>(f + 2);
      if (q + 4 + len > x) break;
      if (id == 1) {
        uint64_t k = 4;
        auto take = [&](uint64_t& v) {
          if (v == 0xffffffffu && k + 8 <= 4u + len) {
            v = util::load_le<uint64_t>(f + k);
            k += 8;
          }
        };
        take(e.usize);
        take(e.csize);
        take(e.local_offset);
      }
      q += 4 + len;
    }
    entries_[name] = e;
    p += 46 + n + x + c;
  }
}

}  // namespace ogpt::model
