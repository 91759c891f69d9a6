#include "nlpc/core/error.h"

#include <csignal>

namespace nlpc {

std::string format_location(const std::string& file, int64_t line, int64_t column) {
  std::string s = file.empty() ? std::string("<input>") : file;
  if (line > 0) {
    s += ":" + std::to_string(line);
    if (column > 0) s += ":" + std::to_string(column);
  }
  return s;
}

InputError::InputError(const std::string& file, int64_t line, int64_t column, const std::string& what)
    : Error(format_location(file, line, column) + ": " + what, kExitUsage),
      file_(file),
      line_(line),
      column_(column),
      detail_(what) {}

InterruptedError::InterruptedError(int signal)
    : Error(std::string("interrupted by ") + (signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT"
                                                                                                : "signal"),
            128 + signal),
      signal_(signal) {}

}  // namespace nlpc
