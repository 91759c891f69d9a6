#pragma once
// Run folders that mimic MLflow's tracking store. One run is one folder:
//
//   <runs_dir>/<experiment>/<run_id>/
//     run.json        run_id, experiment, run_name, status, start/end time (ms), command line,
//                     versions, host, user, pid, git commit, seed, error (FAILED) / signal (KILLED)
//     params.json     flattened resolved configuration {"model.hidden": 256, ...}
//     tags.json       {"key": "value", ...}
//     metrics.jsonl   {"key":..,"value":..,"step":..,"timestamp":..} one per line, appended + flushed
//     artifacts/      files the command produced
//
// Every JSON file is replaced atomically (AtomicFile); metrics.jsonl is only ever appended to.
//
// How a command records a run:
//
//   nlpc::runs::Run run = nlpc::runs::Run::start(opts.run);   // status RUNNING, run.json written
//   return nlpc::runs::record(run, [&] {                      // FINISHED / KILLED / FAILED + rethrow
//     run.log_params(resolved_config_json);
//     for (...) { nlpc::check_interrupted(); ...; run.log_metric("train/loss", loss, step); }
//     save_model(run.artifact_path("model"));
//     return 0;
//   });
//
// record() marks the run FINISHED when the body returns, KILLED (with the signal) on
// nlpc::InterruptedError, FAILED with the error text on any other exception, and rethrows.
// A process that dies hard (SIGKILL, segfault) leaves status RUNNING; `nlpc runs` shows such runs
// as RUNNING and notes when their process is gone.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/signals.h"

namespace nlpc::runs {

// Filled by the CLI (src/cli/run_options.h) for every command that records a run.
struct RunOptions {
  std::string runs_dir;                 // empty: $NLPC_RUNS_DIR, else ./runs
  std::string experiment = "default";  // folder name under runs_dir
  std::string run_name;                 // empty: generated, e.g. "brave-otter-042"
  std::string command_line;             // empty: read from /proc/self/cmdline
};

enum class RunStatus { kRunning, kFinished, kFailed, kKilled };
std::string status_name(RunStatus s);  // "RUNNING", "FINISHED", "FAILED", "KILLED"
// Throws InputError on an unknown name.
RunStatus parse_status(const std::string& name);
// MLflow's integer codes: RUNNING=1, FINISHED=3, FAILED=4, KILLED=5.
int mlflow_status_code(RunStatus s);

// `flag` when given, else $NLPC_RUNS_DIR when set and not empty, else "runs".
std::string resolve_runs_dir(const std::string& flag);
// Throws UsageError unless the name is usable as a folder: [A-Za-z0-9._-], not starting with '.'.
void validate_experiment_name(const std::string& name);
// Throws UsageError unless `key` is a valid metric/param/tag key (MLflow's rules): non-empty,
// characters [A-Za-z0-9_-. /:], no leading '/', no empty, '.' or '..' path component.
void validate_key(const std::string& what, const std::string& key);


class Run {
 public:
  // Creates <runs_dir>/<experiment>/<run_id>/ with run.json (RUNNING), params.json, tags.json,
  // an empty metrics.jsonl and artifacts/.
  static Run start(const RunOptions& opts);
  // Appends to an existing run folder (tests, resumed jobs). Does not change its status; a run
  // still RUNNING is then ended by this object (end(), record() or the destructor).
  static Run open(const std::string& run_dir);
  // Marks an ended (KILLED/FAILED) run RUNNING again to continue it (`nlpc train --resume`):
  // end_time, error and signal are removed, the previous status and the time are appended to
  // "resumes" in run.json.
  void reopen();

  Run(Run&& other) noexcept;
  Run& operator=(Run&& other) noexcept;
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  // A run still RUNNING here is ended: KILLED when a signal was received, else FAILED
  // ("the run ended without being finished"). Prefer record()/end() which know the exception.
  ~Run();

  const std::string& id() const { return id_; }
  const std::string& dir() const { return dir_; }
  std::string name() const { return info_.value("run_name", std::string()); }
  std::string experiment() const { return info_.value("experiment", std::string()); }
  RunStatus status() const;
  const nlohmann::json& info() const { return info_; }

  // Merges the flattened `config` into params.json (rewritten atomically).
  void log_params(const nlohmann::json& config);
  void log_param(const std::string& key, const nlohmann::json& value);
  void set_tag(const std::string& key, const std::string& value);
  void set_seed(int64_t seed);
  // Appends one line to metrics.jsonl and flushes it to the OS. Non-finite values are stored as
  // the strings "NaN", "Infinity", "-Infinity" (JSON has no numbers for them).
  void log_metric(const std::string& key, double value, int64_t step);
  // fsync metrics.jsonl every `n` lines (0 = only when the run ends). Default 0.
  void set_fsync_every(int n) { fsync_every_ = n; }

  std::string artifacts_dir() const;
  // <run>/artifacts/<rel>, its parent folders created. Write it with AtomicFile.
  std::string artifact_path(const std::string& rel) const;
  // Copies `src` to artifacts/<rel> (rel empty: the file name of src). Returns the new path.
  std::string log_artifact(const std::string& src, const std::string& rel = "");

  // Ends the run: status, end_time, and `error` (FAILED) or `signal` (KILLED) in run.json.
  // Ending twice is a no-op.
  void end(RunStatus status, const std::string& error = "", int signal = 0);
  // Ends the run according to the exception being handled (call inside a catch block):
  // InterruptedError -> KILLED, anything else -> FAILED with its message.
  void end_with_current_exception();
  // Removes the run folder: a run whose inputs turned out to be invalid holds nothing worth
  // keeping (see record_if_inputs_valid). The object is ended; its id and dir stay readable.
  void discard();
  bool ended() const { return ended_; }

 private:
  Run() = default;
  void write_info();
  void close_metrics();

  std::string id_;
  std::string dir_;
  nlohmann::json info_;
  nlohmann::json params_ = nlohmann::json::object();
  nlohmann::json tags_ = nlohmann::json::object();
  std::FILE* metrics_ = nullptr;
  int fsync_every_ = 0;
  int64_t unsynced_ = 0;
  bool ended_ = false;
};

// Runs body() and ends `run` accordingly (see the top of this file); rethrows any exception.
template <typename F>
auto record(Run& run, F&& body) -> decltype(body()) {
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      run.end(RunStatus::kFinished);
    } else {
      auto result = body();
      run.end(RunStatus::kFinished);
      return result;
    }
  } catch (...) {
    run.end_with_current_exception();
    throw;
  }
}

// Like record(), but when body() fails on bad input (UsageError or InputError: exit code 2, e.g. a
// wrong path or a missing column) the run is discarded instead of kept as FAILED: `runs list` and
// reports show only runs that got as far as valid inputs. For commands whose body does nothing
// worth keeping before it has read its inputs (eval, bench).
template <typename F>
auto record_if_inputs_valid(Run& run, F&& body) -> decltype(body()) {
  try {
    return record(run, std::forward<F>(body));
  } catch (const Error& e) {
    if (e.exit_code() == kExitUsage) run.discard();
    throw;
  }
}

// Helpers used by Run, exposed for tests.
std::string new_run_id();                                      // 32 lowercase hex, random
std::string random_run_name();                                 // "adjective-animal-NNN"
std::optional<std::string> git_commit(const std::string& dir);  // HEAD of the repo containing dir
std::string process_command_line();                            // /proc/self/cmdline, shell-quoted

}  // namespace nlpc::runs
