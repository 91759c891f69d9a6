// nlpc entry point: parses the command line, applies global options, runs one subcommand and maps
// errors to the documented exit codes (README "Exit codes"). No other file calls exit().
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "commands.h"
#include "module.h"
#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/core/signals.h"
#include "nlpc/core/system.h"

namespace nlpc::cli {
namespace {
struct Registered {
  CLI::App* app;
  Runner run;
};
std::vector<Registered>& registry() {
  static std::vector<Registered> r;
  return r;
}
int depth(const CLI::App* app) {
  int d = 0;
  for (const CLI::App* p = app->get_parent(); p != nullptr; p = p->get_parent()) ++d;
  return d;
}
}  // namespace

GlobalOptions& globals() {
  static GlobalOptions g;
  return g;
}

void on_run(CLI::App* app, Runner run) { registry().push_back({app, std::move(run)}); }

Runner not_implemented(const std::string& name) {
  return [name]() -> int {
    throw UsageError("'nlpc " + name + "' is not implemented yet in this version of nlpc");
  };
}

static void print_version() {
  torch_module();  // libtorch and its BLAS, for their versions and threads
  std::printf("nlpc %s\n", nlpc_version().c_str());
  std::printf("libtorch %s (CPU)\n", libtorch_version().c_str());
  std::printf("BLAS: %s\n", blas_description().c_str());
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  std::printf("threads: %d (of %d hardware threads), OpenMP wait policy %s\n", num_threads(), hardware_threads(),
              wait != nullptr && *wait != '\0' ? wait : "default");
  std::printf("int8: %s\n", torch_module().int8_engine().c_str());
}

static int run_main(int argc, char** argv) {
  CLI::App app{"nlpc: train, evaluate and serve text classifiers, summarizers and speech recognizers"};
  app.set_version_flag("");  // handled below so that it can report threads after --threads
  auto& g = globals();
  for (int i = 0; i < argc; ++i) g.command_line += (i ? " " : "") + std::string(argv[i]);
  bool show_version = false;
  app.add_flag("--version", show_version, "Print nlpc, libtorch and BLAS versions and threads");
  app.add_option("--threads", g.threads, "Threads for libtorch, BLAS and parallel loops (default: all cores)")
      ->check(CLI::Validator(
          [](std::string& v) {
            return v.find_first_not_of("0123456789") == std::string::npos && !v.empty()
                       ? std::string()
                       : "must be 0 (all cores) or a positive number of threads, got " + v;
          },
          "N"));
  app.add_option("--log-level", g.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.add_flag("-q,--quiet", g.quiet, "Only warnings and errors; no progress bars");
  app.require_subcommand(0, 1);
  install_formatter(app);  // before the subcommands, which inherit it: exit codes on every help page

  register_tokenize(app);
  register_train(app);
  register_eval(app);
  register_predict(app);
  register_transcribe(app);
  register_runs(app);
  register_serve(app);
  register_bench(app);
  register_models(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError&) {
    std::cerr << explain_extras(app);
    return kExitUsage;
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << " (see --help)\n";  // one line
    return kExitUsage;
  }

  init_logging(g.log_level, g.quiet);
  set_num_threads(g.threads);
  install_signal_handlers();

  if (show_version) {
    print_version();
    return kExitOk;
  }
  const Registered* chosen = nullptr;
  for (const auto& r : registry()) {
    if (r.app->parsed() && (chosen == nullptr || depth(r.app) > depth(chosen->app))) chosen = &r;
  }
  if (chosen == nullptr) {
    // No subcommand, or a command group without its action: show the relevant help.
    const CLI::App* shown = &app;
    for (auto* sub : app.get_subcommands()) shown = sub;
    std::cerr << shown->help();
    return kExitUsage;
  }
  return chosen->run();
}

}  // namespace nlpc::cli

int main(int argc, char** argv) {
  try {
    return nlpc::cli::run_main(argc, argv);
  } catch (const nlpc::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return nlpc::kExitRuntime;
  }
}
