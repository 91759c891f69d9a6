#pragma once
// CLI plumbing shared by the cmd_*.cpp files. Each register_<name>() adds its subcommand(s) to the
// app, binds flags to an options struct and registers the function that runs it.
#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace nlpc::cli {

using Runner = std::function<int()>;

// Global options (parsed before any subcommand runs).
struct GlobalOptions {
  int threads = 0;  // 0 = all cores
  std::string log_level = "info";
  bool quiet = false;
  std::string command_line;  // the full command line, for run records
};
GlobalOptions& globals();

// Registers the function to run when `app` is the deepest subcommand given on the command line.
void on_run(CLI::App* app, Runner run);

// Helper for subcommands that are not implemented yet: prints a message and exits 2.
Runner not_implemented(const std::string& name);

void register_tokenize(CLI::App& app);
void register_train(CLI::App& app);
void register_eval(CLI::App& app);
void register_predict(CLI::App& app);
void register_transcribe(CLI::App& app);
void register_runs(CLI::App& app);
void register_runs_report(CLI::App* runs_app);  // called by register_runs
void register_serve(CLI::App& app);
void register_bench(CLI::App& app);
void register_models(CLI::App& app);                 // `models`: its sub-subcommands are listed in cmd_models.cpp
void register_models_inspect(CLI::App* models_app);
void register_models_convert(CLI::App* models_app);

}  // namespace nlpc::cli
