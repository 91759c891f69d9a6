#include "commands.h"

namespace nlpc::cli {

void register_serve(CLI::App& app) {
  auto* sub = app.add_subcommand("serve", "REST API and HTML demo page over a trained model");
  sub->allow_extras();
  on_run(sub, not_implemented("serve"));
}

}  // namespace nlpc::cli
