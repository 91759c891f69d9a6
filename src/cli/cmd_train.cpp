#include "commands.h"

namespace nlpc::cli {

void register_train(CLI::App& app) {
  auto* sub = app.add_subcommand("train", "Train or fine-tune a model from a JSON config, recorded as a run");
  sub->allow_extras();
  on_run(sub, not_implemented("train"));
}

}  // namespace nlpc::cli
