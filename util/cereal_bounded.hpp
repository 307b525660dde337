#pragma once
// Bounded cereal loads for files a user hands us (probe files, training states).
//
// cereal reads a vector's or a string's length and allocates (and zero-fills) that many elements
// before it reads them, so a damaged length would ask for terabytes, or for gigabytes it then
// touches, before the short read is noticed. A crc32 is no defence: it catches accidents, and
// anyone can forge one (fuzz_probe_file found this). Loads of containers go through
// load_bounded, which refuses a length longer than the bytes being read: the same bytes on disk
// as cereal's own vector and string serialisation, so files written before stay readable.
#include <cereal/cereal.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace ogpt::util {

// The size of the payload being loaded on this thread, set for the load's duration.
inline thread_local uint64_t t_bounded_payload_bytes = 0;

class BoundedLoad {
 public:
  explicit BoundedLoad(uint64_t payload_bytes) : saved_(t_bounded_payload_bytes) {
    t_bounded_payload_bytes = payload_bytes;
  }
  ~BoundedLoad() { t_bounded_payload_bytes = saved_; }
  BoundedLoad(const BoundedLoad&) = delete;
  BoundedLoad& operator=(const BoundedLoad&) = delete;

 private:
  uint64_t saved_;
};

// Loads a std::vector of arithmetic values or a std::string written as cereal writes them.
// Throws std::runtime_error naming `what` for a length the payload cannot hold (callers turn it
// into a UserError naming the file).
template <class Archive, class Container>
void load_bounded(Archive& ar, Container& c, const char* what) {
  static_assert(std::is_arithmetic_v<typename Container::value_type>, "raw bytes only: vectors of numbers, strings");
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  if (n > 0 && t_bounded_payload_bytes == 0)
    throw std::logic_error(std::string("load_bounded (") + what + ") called outside a BoundedLoad");
  if (n > t_bounded_payload_bytes / sizeof(typename Container::value_type))
    throw std::runtime_error(std::string(what) + " claims " + std::to_string(n) + " elements, more than the payload holds");
  c.resize(static_cast<size_t>(n));
  ar(cereal::binary_data(c.data(), static_cast<size_t>(n) * sizeof(typename Container::value_type)));
}

// A bool as cereal writes it (one byte): any byte but 0 or 1 is refused, as reading it into a
// bool would be undefined behaviour.
template <class Archive>
void load_bool(Archive& ar, bool& b, const char* what) {
  uint8_t v = 0;
  ar(v);
  if (v > 1) throw std::runtime_error(std::string(what) + " holds the byte " + std::to_string(v) + ", not a bool");
  b = v == 1;
}

}  // namespace ogpt::util
