#pragma once
// Probe files (what `probe train --out` writes and every other probe command reads), .npy export,
// and the intervention directions of a linear probe.
//
// File layout (little-endian):
//   bytes 0..7    magic "OGPTPROB"
//   bytes 8..11   format version (u32, currently 2; version 1, which lacks the token positions
//                 the probe was fitted on, is still read)
//   bytes 12..15  crc32 of the payload (util/checksum.hpp)
//   bytes 16..23  payload length in bytes (u64)
//   bytes 24..    payload: a cereal portable binary archive of the Probe (hook, layer, basis,
//                 kind, d, H, weights, training metadata; version 2 adds the positions string)
// Written atomically; truncated, corrupted and wrong-version files are refused with a UserError
// naming the file and the offending byte offset.
#include <armadillo>
#include <string>
#include <vector>

#include "probes/probe.hpp"

namespace ogpt::probes {

inline constexpr char kProbeMagic[8] = {'O', 'G', 'P', 'T', 'P', 'R', 'O', 'B'};
inline constexpr uint32_t kProbeVersion = 2;
inline constexpr uint32_t kProbeOldestVersion = 1;

std::string probe_to_bytes(const Probe& p);
Probe probe_from_bytes(const std::string& bytes, const std::string& name);  // name: for messages
void save_probe(const std::string& path, const Probe& p);
Probe load_probe(const std::string& path);
// The probe files a --probe argument names, in name order: the path itself if it is a file,
// every *.probe in it if it is a directory; empty if it does not exist.
std::vector<std::string> probe_files_at(const std::string& path);

// Writes a float32 array in NumPy's .npy v1.0 format (C order, '<f4'), atomically.
// data holds prod(shape) floats in C (row-major) order.
void write_npy(const std::string& path, const float* data, const std::vector<size_t>& shape);
// Reads back a '<f4' C-order .npy written by write_npy (for tests and round trips).
std::vector<float> read_npy(const std::string& path, std::vector<size_t>* shape);

// Exports the probe's parameters as .npy files in dir, TransformerLens-style [d_in, ...] layouts:
//   linear: W.npy [d, 8, 8, C] (Nanda's linear_probe[d_model, rows, cols, options]), b.npy [8, 8, C]
//   mlp:    W1.npy [d, H], b1.npy [H], W2.npy [H, 8, 8, C], b2.npy [8, 8, C]
//   linear board probes also: direction_<a>_minus_<b>.npy and direction_empty.npy [d, 8, 8]
// Returns the paths written.
std::vector<std::string> export_probe_npy(const Probe& p, const std::string& dir);

// Intervention directions in the probe's input space (d_model for a residual-stream hook), one
// column per cell (square index a1 = 0, row*8+col), NOT normalised:
//   flip[:, c]  = W_mine - W_theirs     (black - white for a black/white probe)
//   empty[:, c] = W_empty - (W_mine + W_theirs) / 2
// Adding alpha*flip[:, c] to the activation pushes cell c towards "mine"; the probe's logit gap
// mine-minus-theirs grows by alpha*|flip[:, c]|^2.
struct Directions {
  std::string hook;  // where they were learnt, e.g. "blocks.5.hook_resid_post"
  int layer = 0;
  Target target = Target::mine_theirs;
  arma::fmat flip;   // [d x 64]
  arma::fmat empty;  // [d x 64]
};
// Throws UserError unless p is a linear probe of a board basis (mine-theirs or black-white).
Directions get_directions(const Probe& p);

}  // namespace ogpt::probes
