#pragma once
// Adds the options of every command that records a run (train, eval, ...):
//   --runs-dir DIR     (default: $NLPC_RUNS_DIR, else ./runs)
//   --experiment NAME  (default: default)
//   --run-name NAME    (default: generated, e.g. brave-otter-042)
// Usage in a cmd_<name>.cpp:
//   add_run_options(sub, opts.run);   // opts.run is a nlpc::runs::RunOptions
// then, in the library: auto run = nlpc::runs::Run::start(opts.run); nlpc::runs::record(run, ...).
#include <CLI/CLI.hpp>

#include "nlpc/runs/run.h"

namespace nlpc::cli {

inline void add_runs_dir_option(CLI::App* app, std::string& runs_dir) {
  app->add_option("--runs-dir", runs_dir, "Folder of run records (default: $NLPC_RUNS_DIR, else ./runs)");
}

inline void add_run_options(CLI::App* app, runs::RunOptions& opts) {
  add_runs_dir_option(app, opts.runs_dir);
  app->add_option("--experiment", opts.experiment, "Experiment (folder under the runs folder) to record the run in")
      ->capture_default_str();
  app->add_option("--run-name", opts.run_name, "Readable name of the run (default: generated, e.g. brave-otter-042)");
}

}  // namespace nlpc::cli
