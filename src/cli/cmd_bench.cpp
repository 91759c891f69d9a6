#include "commands.h"

namespace nlpc::cli {

void register_bench(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "Latency, throughput, size and memory of a model");
  sub->allow_extras();
  on_run(sub, not_implemented("bench"));
}

}  // namespace nlpc::cli
