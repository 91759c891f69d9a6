#include "commands.h"

namespace nlpc::cli {

void register_eval(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "Score a model on labelled data: metrics, confidence intervals, errors, gates");
  sub->allow_extras();
  on_run(sub, not_implemented("eval"));
}

}  // namespace nlpc::cli
