#pragma once
// Writing a file the user keeps: the bytes go to "<path>.tmp.<pid>", are flushed to disk, and
// only then renamed over <path>. A crash, kill or full disk at any moment leaves either the old
// complete file or the new complete file, never a mix. A temporary left by a writer that was
// killed is removed by the next successful write of the same path; one ended by SIGINT or SIGTERM
// removes its temporaries itself (unless the command handles those signals its own way). A symlink is followed (its
// target is replaced, the link kept); a device or pipe (/dev/null, /dev/stdout) is written in
// place; a directory is refused.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ogpt::util {

// Writes `bytes` to `path` atomically. Throws IoError naming the path on any failure and
// removes the temporary file; the old file at `path` is untouched.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Streaming variant for large files: `fill` is called with a writer function; nothing is
// visible at `path` until `fill` returns and the data is on disk.
class AtomicWriter {
 public:
  explicit AtomicWriter(std::string path);
  ~AtomicWriter();  // abandons (deletes the temporary) unless commit() was called
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;
  void write(const void* data, size_t n);
  void commit();  // fsync, close, rename over the destination, fsync the directory
  const std::string& path() const { return path_; }
  uint64_t bytes_written() const { return written_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
  bool direct_ = false;  // path is a device or pipe: written in place, no temporary
  int live_slot_ = -1;   // where the SIGINT/SIGTERM cleanup finds tmp_ (atomic_file.cpp)
};

// Throws the IoError that writing `path` would throw at the end (a directory there, no such
// directory, no permission to create files in it), for commands that work for minutes before
// they write: a typo in an output path then costs nothing. Creates nothing.
void check_writable(const std::string& path);

// Creates directory `dir` (and its parents) unless it exists; throws IoError naming it when it
// cannot, e.g. when a plain file has that name.
void ensure_directory(const std::string& dir);

// Reads a whole file; throws IoError naming the path if it cannot be opened or read.
std::string read_file(const std::string& path);

}  // namespace ogpt::util
