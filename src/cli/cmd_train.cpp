// `nlpc train`: flags only; the work is in src/commands/train.cpp and the task's train.
#include <cstdio>

#include "commands.h"
#include "module.h"
#include "nlpc/commands/train.h"
#include "nlpc/train/train_config.h"
#include "run_options.h"

namespace nlpc::cli {

void register_train(CLI::App& app) {
  static TrainCommandOptions opts;
  static bool list_keys = false;
  auto* sub = app.add_subcommand("train", "Train or fine-tune a model from a JSON config, recorded as a run");
  sub->add_option("-c,--config", opts.config, "Configuration file (JSON); see docs/configuration.md")
      ->check(CLI::ExistingFile);
  sub->add_option("-s,--set", opts.sets, "Override a configuration key: --set train.lr=3e-5 (repeatable)");
  sub->add_option("--resume", opts.resume,
                  "Continue a killed or interrupted run (run id, unique prefix or run folder) from its last checkpoint");
  sub->add_flag("--list-keys", list_keys, "Print every configuration key with its type, default and meaning");
  add_run_options(sub, opts.run);
  sub->footer("Relative paths in the configuration are resolved against the current directory.");
  on_run(sub, [] {
    if (list_keys) {
      std::fputs(torch_module().describe_train_config().c_str(), stdout);
      return 0;
    }
    if (opts.config.empty() && opts.resume.empty() && opts.sets.empty()) {
      throw UsageError("nlpc train needs --config FILE.json (or --set keys, or --resume RUN)");
    }
    opts.run.command_line = globals().command_line;
    return torch_module().run_train(opts);
  });
}

}  // namespace nlpc::cli
