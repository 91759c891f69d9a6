#include "nlpc/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "nlpc/core/error.h"

namespace nlpc {
namespace {
bool g_quiet = false;
}

void init_logging(const std::string& level, bool quiet) {
  g_quiet = quiet;
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw UsageError("--log-level: unknown level '" + level +
                     "' (expected trace, debug, info, warn, error or off)");
  }
  if (quiet && lvl < spdlog::level::warn) lvl = spdlog::level::warn;
  auto logger = spdlog::stderr_color_mt("nlpc");
  logger->set_pattern("[%H:%M:%S] %^%l%$ %v");
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

bool quiet_mode() { return g_quiet; }

}  // namespace nlpc
