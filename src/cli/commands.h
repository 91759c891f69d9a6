#pragma once
// CLI plumbing shared by the cmd_*.cpp files. Each register_<name>() adds its subcommand(s) to the
// app, binds flags to an options struct and registers the function that runs it.
#include <functional>
#include <memory>
#include <set>
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

// Help and parse errors (src/cli/help.cpp). install_formatter: every help page lists option names
// without CLI11's "{false}" flag defaults and without hidden aliases, and ends with the exit codes.
void install_formatter(CLI::App& app);
// Marks `alias` (a long name of `opt`, e.g. "--beam-size" of "--num-beams,--beam-size") as an old
// name that keeps working but is left out of help and suggestions. Returns `opt`.
CLI::Option* hidden_alias(CLI::Option* opt, const std::string& alias);
// After a CLI::ExtrasError: one line per unknown flag or subcommand, with the closest valid name
// ("did you mean --config?"), and where to get help.
std::string explain_extras(const CLI::App& app);

// The column flags given on the command line, as DataSpec field names ("--text-column" ->
// "text_column"), so that the model folder's recorded columns fill only the others.
inline std::set<std::string> columns_given(const CLI::App* sub) {
  std::set<std::string> out;
  for (const char* field : {"text_column", "pair_column", "label_column", "target_column", "audio_column"}) {
    std::string flag = std::string("--") + field;
    for (auto& ch : flag) ch = ch == '_' ? '-' : ch;
    if (sub->get_option_no_throw(flag) != nullptr && sub->count(flag) > 0) out.insert(field);
  }
  return out;
}

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
void register_models_quantize(CLI::App* models_app);

}  // namespace nlpc::cli
