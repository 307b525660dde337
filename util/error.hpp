#pragma once
// Errors a user can act on. Every reader of outside data throws UserError with a one-line
// message that names the file and, where it helps, the byte offset or move number; the CLI
// prints "othello-gpt: <message>" and exits with the code below. Anything else that escapes
// is a bug and exits with kInternal.
#include <stdexcept>
#include <string>

namespace ogpt {

// Exit codes (documented in the README).
enum ExitCode : int {
  kOk = 0,
  kInternal = 1,     // a bug: an unexpected exception
  kUsage = 2,        // bad command line
  kBadInput = 3,     // a file or string was refused (malformed, truncated, wrong version, ...)
  kIo = 4,           // could not read or write a file (missing, permissions, disk full)
  kNonFinite = 5,    // training stopped on a non-finite loss or gradient
  kInterrupted = 130 // Ctrl-C (after saving what was in flight)
};

// `msg` as it is safe to print and to put in JSON: control bytes and bytes that are not valid
// UTF-8 become \xNN, and a message longer than max_bytes is cut (saying how much was left out).
// Messages quote names read from hostile files (tensor names, hooks, game text); this keeps a
// crafted name from driving the terminal or breaking a JSON reply.
std::string printable(const std::string& msg, size_t max_bytes = 2000);

struct UserError : std::runtime_error {
  int code;
  explicit UserError(const std::string& msg, int exit_code = kBadInput)
      : std::runtime_error(printable(msg)), code(exit_code) {}
};

struct IoError : UserError {
  explicit IoError(const std::string& msg) : UserError(msg, kIo) {}
};

}  // namespace ogpt
