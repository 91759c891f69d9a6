#include "commands.h"

namespace nlpc::cli {

void register_runs(CLI::App& app) {
  auto* sub = app.add_subcommand("runs", "List, show, compare and export runs; render reports");
  sub->allow_extras();
  on_run(sub, not_implemented("runs"));
}

}  // namespace nlpc::cli
