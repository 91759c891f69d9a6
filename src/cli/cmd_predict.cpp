#include "commands.h"

namespace nlpc::cli {

void register_predict(CLI::App& app) {
  auto* sub = app.add_subcommand("predict", "Batch prediction over CSV/JSONL, streaming");
  sub->allow_extras();
  on_run(sub, not_implemented("predict"));
}

}  // namespace nlpc::cli
