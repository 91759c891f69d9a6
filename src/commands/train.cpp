// `nlpc train --config FILE [--set k=v] [--resume RUN]`: loads the configuration (or the run's
// saved one), starts or reopens the run, and hands it to the task the configuration names
// (tasks::task_for_config(cfg.task).train). No task-specific code here.
#include "nlpc/commands/train.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <unistd.h>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/launch_env.h"
#include "nlpc/dist/dist.h"
#include "nlpc/core/log.h"
#include "nlpc/runs/store.h"
#include "nlpc/tasks/registry.h"
#include "nlpc/train/train_config.h"

namespace nlpc {
namespace fs = std::filesystem;
namespace {

// The folder of the run --resume names (a path, or an id under the runs folder).
std::string resume_dir(const TrainCommandOptions& opts) {
  return fs::exists(fs::path(opts.resume) / "run.json")
             ? opts.resume
             : runs::find_run(runs::resolve_runs_dir(opts.run.runs_dir), opts.resume);
}

// The configuration a --resume continues, read without touching the run.
TrainConfig saved_config(const TrainCommandOptions& opts) {
  const std::string saved = resume_dir(opts) + "/artifacts/config.json";
  if (!file_exists(saved)) throw InputError(saved, 0, 0, "cannot resume: the run has no saved configuration");
  if (!opts.config.empty() || !opts.sets.empty()) {
    throw UsageError("--resume continues a run with its own configuration: drop --config/--set");
  }
  return load_train_config(saved, {});
}

// Reopens the run of --resume and loads its saved configuration into `cfg`.
runs::Run reopen_run(const TrainCommandOptions& opts, TrainConfig& cfg) {
  cfg = saved_config(opts);
  runs::Run r = runs::Run::open(resume_dir(opts));
  if (r.status() == runs::RunStatus::kFinished) {
    throw UsageError("run " + r.id() + " already FINISHED: there is nothing to resume");
  }
  r.reopen();
  return r;
}

// After Ctrl-C / SIGTERM: how to continue the run (or why it cannot be continued).
void print_resume_hint(const runs::Run& run, const TrainCommandOptions& opts) {
  std::error_code ec;
  const fs::path ckpt = fs::path(run.dir()) / "checkpoints";
  if (fs::is_directory(ckpt, ec) && !fs::is_empty(ckpt, ec)) {
    std::fprintf(stderr, "interrupted; continue the run with: nlpc train --resume %s%s\n", run.id().c_str(),
                 opts.run.runs_dir.empty() ? "" : (" --runs-dir '" + opts.run.runs_dir + "'").c_str());
  } else {
    std::fprintf(stderr, "interrupted before the first checkpoint: run %s cannot be resumed, start it again\n",
                 run.id().c_str());
  }
}

// A new run's seed, parameters and saved configuration (what --resume reads back).
void record_config(runs::Run& run, const TrainConfig& cfg) {
  run.set_seed(cfg.train.seed);
  run.log_params(cfg.resolved);
  write_file_atomic(run.artifact_path("config.json"), cfg.resolved.dump(2) + "\n");
}

// Under a launcher: rank 0 records the run as a single process does; every other rank trains in a
// scratch run folder of its own (removed at the end) and stops after training. All ranks must
// resolve the same configuration (checked against rank 0's).
int run_train_distributed(const TrainCommandOptions& opts) {
  const bool resume = !opts.resume.empty();
  const LaunchEnv& env = launch_env();
  TrainConfig cfg;
  std::optional<runs::Run> run;
  if (env.is_main()) {
    if (!resume) cfg = load_train_config(opts.config, opts.sets);
    run.emplace(resume ? reopen_run(opts, cfg) : runs::Run::start(opts.run));
  } else {
    cfg = resume ? saved_config(opts) : load_train_config(opts.config, opts.sets);
  }
  auto body = [&](runs::Run& r) -> int {
    dist::Group* group = dist::init(std::chrono::seconds(cfg.train.dist_timeout_s));
    const std::string mine = cfg.resolved.dump();
    const std::string main = group->broadcast_bytes(mine, 0, "the configuration of rank 0");
    if (main != mine) {
      throw UsageError("rank " + std::to_string(env.rank) + " resolved a different configuration than rank 0 "
                       "(start every rank with the same --config/--set, and the same files)");
    }
    const tasks::Task& task = tasks::task_for_config(cfg.task, resume ? opts.resume : opts.config);
    if (env.is_main() && !resume) {
      record_config(r, cfg);
      r.set_tag("dist.world_size", std::to_string(env.world_size));
      r.set_tag("dist.launcher", env.source);
    }
    return task.train(cfg, r, resume);
  };
  if (env.is_main()) {
    spdlog::info("run {} ({}) in {}, {} ranks", run->id(), run->name(), run->dir(), env.world_size);
    try {
      return runs::record(*run, [&]() -> int { return body(*run); });
    } catch (const InterruptedError&) {
      print_resume_hint(*run, opts);
      throw;
    }
  }
  const fs::path scratch =
      fs::temp_directory_path() / ("nlpc-rank" + std::to_string(env.rank) + "-" + std::to_string(getpid()));
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{scratch};
  runs::RunOptions ro;
  ro.runs_dir = scratch.string();
  ro.run_name = "rank-" + std::to_string(env.rank);
  runs::Run local = runs::Run::start(ro);
  return runs::record(local, [&]() -> int { return body(local); });
}


}  // namespace

int run_train(const TrainCommandOptions& opts) {
  if (launch_env().distributed()) return run_train_distributed(opts);
  TrainConfig cfg;
  const bool resume = !opts.resume.empty();
  if (!resume) cfg = load_train_config(opts.config, opts.sets);
  runs::Run run = resume ? reopen_run(opts, cfg) : runs::Run::start(opts.run);
  const tasks::Task& task = tasks::task_for_config(cfg.task, resume ? opts.resume : opts.config);
  if (!resume) record_config(run, cfg);
  spdlog::info("run {} ({}) in {}", run.id(), run.name(), run.dir());
  try {
    return runs::record(run, [&]() -> int { return task.train(cfg, run, resume); });
  } catch (const InterruptedError&) {
    print_resume_hint(run, opts);
    throw;
  }
}

}  // namespace nlpc
