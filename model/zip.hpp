#pragma once
// A reader for the zip subset torch.save writes (stored or deflated entries, zip64 for big files)
// over a whole file held in memory. Entries are inflated on demand and crc-checked; every refusal
// is a UserError naming the file, what is wrong and the byte offset. Used by model/pth.cpp.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace ogpt::model {

struct ZipEntry {
  uint64_t local_offset = 0, csize = 0, usize = 0;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint32_t crc = 0;
};

class Zip {
 public:
  // `bytes` must outlive the Zip; `what` names the file in messages.
  Zip(std::string_view bytes, const std::string& what);
  const std::map<std::string, ZipEntry>& entries() const { return entries_; }
  // The entry's bytes, inflated if needed, crc-checked.
  std::string read(const std::string& name) const;
  UserError fail(const std::string& msg, uint64_t offset) const;

 private:
  void need(uint64_t off, uint64_t n, const std::string& of) const;  // [off, off+n) inside the file
  void read_directory();

  std::string_view b_;
  std::string what_;
  std::map<std::string, ZipEntry> entries_;
};

}  // namespace ogpt::model
