#pragma once
// nlpc error hierarchy. Library code throws; src/cli/main.cpp catches once and maps to exit codes.
//   0 ok, 1 runtime failure (RuntimeError, anything unexpected), 2 usage or bad input (UsageError,
//   InputError), 3 evaluation gate failed (GateError), 130/143 interrupted (InterruptedError).
#include <cstdint>
#include <stdexcept>
#include <string>

namespace nlpc {

enum ExitCode : int {
  kExitOk = 0,
  kExitRuntime = 1,
  kExitUsage = 2,
  kExitGate = 3,
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg, int exit_code = kExitRuntime)
      : std::runtime_error(msg), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// A failure that is not the user's input: I/O errors, numerical failures, internal problems.
class RuntimeError : public Error {
 public:
  explicit RuntimeError(const std::string& msg) : Error(msg, kExitRuntime) {}
};

// Wrong flags, wrong option values, unknown config keys.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& msg) : Error(msg, kExitUsage) {}
};

// Bad input data. Carries the location: file, 1-based line (0 = unknown), 1-based column (0 = unknown).
class InputError : public Error {
 public:
  InputError(const std::string& file, int64_t line, int64_t column, const std::string& what);
  explicit InputError(const std::string& msg) : Error(msg, kExitUsage), line_(0), column_(0) {}
  const std::string& file() const { return file_; }
  int64_t line() const { return line_; }
  int64_t column() const { return column_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string file_;
  int64_t line_;
  int64_t column_;
  std::string detail_;
};

// An evaluation gate (--gate, --baseline/--max-drop) failed.
class GateError : public Error {
 public:
  explicit GateError(const std::string& msg) : Error(msg, kExitGate) {}
};

// SIGINT/SIGTERM arrived; long loops poll nlpc::interrupted() and throw this.
class InterruptedError : public Error {
 public:
  explicit InterruptedError(int signal);
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Formats "file:line:column: what" leaving out the parts that are unknown.
std::string format_location(const std::string& file, int64_t line, int64_t column);

}  // namespace nlpc
