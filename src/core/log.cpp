#include "nlpc/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "nlpc/core/error.h"
#include "nlpc/core/launch_env.h"

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
  // Under a launcher, lines say their rank, and ranks other than 0 only warn (no progress bars).
  const LaunchEnv& env = launch_env();
  if (env.distributed() && !env.is_main()) g_quiet = quiet = true;
  if (quiet && lvl < spdlog::level::warn) lvl = spdlog::level::warn;
  auto logger = spdlog::stderr_color_mt("nlpc");
  logger->set_pattern(env.distributed() ? "[%H:%M:%S] [rank " + std::to_string(env.rank) + "] %^%l%$ %v"
                                        : "[%H:%M:%S] %^%l%$ %v");
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

bool quiet_mode() { return g_quiet; }

}  // namespace nlpc
