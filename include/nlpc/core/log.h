#pragma once
// Logging goes to stderr through spdlog; stdout is reserved for results.
#include <string>

#include <spdlog/spdlog.h>

namespace nlpc {

// level: trace, debug, info, warn, error, off. Throws UsageError on an unknown level.
void init_logging(const std::string& level, bool quiet);
bool quiet_mode();

}  // namespace nlpc
