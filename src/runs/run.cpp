// Run: one run folder being written (see include/nlpc/runs/run.h for the layout and life cycle).
#include "nlpc/runs/run.h"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <exception>
#include <new>
#include <utility>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/config.h"
#include "nlpc/core/system.h"

namespace nlpc::runs {
namespace fs = std::filesystem;
namespace {

void write_json(const std::string& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

nlohmann::json read_json_object(const std::string& path) {
  if (!file_exists(path)) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, 0, 0, std::string("malformed JSON: ") + e.what());
  }
}

std::string metric_value_json(double v) {
  if (std::isnan(v)) return "\"NaN\"";
  if (std::isinf(v)) return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  return nlohmann::json(v).dump();
}

}  // namespace

std::string status_name(RunStatus s) {
  switch (s) {
    case RunStatus::kRunning: return "RUNNING";
    case RunStatus::kFinished: return "FINISHED";
    case RunStatus::kFailed: return "FAILED";
    case RunStatus::kKilled: return "KILLED";
  }
  return "RUNNING";
}

RunStatus parse_status(const std::string& name) {
  if (name == "RUNNING") return RunStatus::kRunning;
  if (name == "FINISHED") return RunStatus::kFinished;
  if (name == "FAILED") return RunStatus::kFailed;
  if (name == "KILLED") return RunStatus::kKilled;
  throw InputError("unknown run status '" + name + "' (expected RUNNING, FINISHED, FAILED or KILLED)");
}

int mlflow_status_code(RunStatus s) {
  switch (s) {
    case RunStatus::kRunning: return 1;
    case RunStatus::kFinished: return 3;
    case RunStatus::kFailed: return 4;
    case RunStatus::kKilled: return 5;
  }
  return 1;
}

Run Run::start(const RunOptions& opts) {
  validate_experiment_name(opts.experiment);
  Run run;
  run.id_ = new_run_id();
  const fs::path dir = fs::path(resolve_runs_dir(opts.runs_dir)) / opts.experiment / run.id_;
  run.dir_ = dir.string();
  std::error_code ec;
  fs::create_directories(dir / "artifacts", ec);
  if (ec) throw RuntimeError("cannot create run folder " + run.dir_ + ": " + ec.message());

  std::string cwd = fs::current_path(ec).string();
  auto commit = git_commit(cwd);
  run.info_ = {
      {"run_id", run.id_},
      {"experiment", opts.experiment},
      {"run_name", opts.run_name.empty() ? random_run_name() : opts.run_name},
      {"status", status_name(RunStatus::kRunning)},
      {"start_time", now_ms()},
      {"end_time", nullptr},
      {"command_line", opts.command_line.empty() ? process_command_line() : opts.command_line},
      {"cwd", cwd},
      {"nlpc_version", nlpc_version()},
      {"libtorch_version", libtorch_version()},
      {"host", host_name()},
      {"user", user_name()},
      {"pid", static_cast<int64_t>(getpid())},
      {"git_commit", commit ? nlohmann::json(*commit) : nlohmann::json(nullptr)},
      {"seed", nullptr},
  };
  run.write_info();
  write_json((dir / "params.json").string(), run.params_);
  write_json((dir / "tags.json").string(), run.tags_);
  const std::string metrics = (dir / "metrics.jsonl").string();
  run.metrics_ = std::fopen(metrics.c_str(), "ab");
  if (run.metrics_ == nullptr) {
    throw RuntimeError("cannot create " + metrics + ": " + std::strerror(errno));
  }
  spdlog::info("run {} ({}) recording to {}", run.id_, run.name(), run.dir_);
  return run;
}

Run Run::open(const std::string& run_dir) {
  Run run;
  run.dir_ = run_dir;
  const fs::path dir(run_dir);
  run.info_ = read_json_object((dir / "run.json").string());
  if (!run.info_.contains("run_id") || !run.info_["run_id"].is_string()) {
    throw InputError((dir / "run.json").string(), 0, 0, "not an nlpc run record (no run_id)");
  }
  run.id_ = run.info_["run_id"].get<std::string>();
  run.params_ = read_json_object((dir / "params.json").string());
  run.tags_ = read_json_object((dir / "tags.json").string());
  run.ended_ = run.status() != RunStatus::kRunning;
  const std::string metrics = (dir / "metrics.jsonl").string();
  run.metrics_ = std::fopen(metrics.c_str(), "ab");
  if (run.metrics_ == nullptr) throw RuntimeError("cannot open " + metrics + ": " + std::strerror(errno));
  return run;
}

void Run::reopen() {
  nlohmann::json entry{{"time", now_ms()}, {"previous_status", info_.value("status", std::string("?"))}};
  if (!info_.contains("resumes") || !info_["resumes"].is_array()) info_["resumes"] = nlohmann::json::array();
  info_["resumes"].push_back(entry);
  info_["status"] = status_name(RunStatus::kRunning);
  info_.erase("end_time");
  info_.erase("error");
  info_.erase("signal");
  info_["pid"] = static_cast<int64_t>(getpid());
  ended_ = false;
  if (metrics_ == nullptr) {
    const std::string metrics = (fs::path(dir_) / "metrics.jsonl").string();
    metrics_ = std::fopen(metrics.c_str(), "ab");
    if (metrics_ == nullptr) throw RuntimeError("cannot open " + metrics + ": " + std::strerror(errno));
  }
  write_info();
}

Run::Run(Run&& o) noexcept
    : id_(std::move(o.id_)),
      dir_(std::move(o.dir_)),
      info_(std::move(o.info_)),
      params_(std::move(o.params_)),
      tags_(std::move(o.tags_)),
      metrics_(std::exchange(o.metrics_, nullptr)),
      fsync_every_(o.fsync_every_),
      unsynced_(o.unsynced_),
      ended_(std::exchange(o.ended_, true)) {}

Run& Run::operator=(Run&& o) noexcept {
  if (this != &o) {
    this->~Run();
    new (this) Run(std::move(o));
  }
  return *this;
}

Run::~Run() {
  if (!ended_) {
    try {
      if (int sig = interrupted()) {
        end(RunStatus::kKilled, "", sig);
      } else {
        end(RunStatus::kFailed, "the command stopped before finishing the run");
      }
    } catch (const std::exception& e) {
      spdlog::warn("could not record the end of run {}: {}", id_, e.what());
    }
  }
  close_metrics();
}

RunStatus Run::status() const { return parse_status(info_.value("status", std::string("RUNNING"))); }

void Run::write_info() { write_json((fs::path(dir_) / "run.json").string(), info_); }

void Run::log_params(const nlohmann::json& config) {
  nlohmann::json flat = nlpc::flatten_json(config);
  for (auto& [k, v] : flat.items()) validate_key("param", k);
  for (auto& [k, v] : flat.items()) params_[k] = v;
  write_json((fs::path(dir_) / "params.json").string(), params_);
}

void Run::log_param(const std::string& key, const nlohmann::json& value) {
  validate_key("param", key);
  params_[key] = value;
  write_json((fs::path(dir_) / "params.json").string(), params_);
}

void Run::set_tag(const std::string& key, const std::string& value) {
  validate_key("tag", key);
  tags_[key] = value;
  write_json((fs::path(dir_) / "tags.json").string(), tags_);
}

void Run::set_seed(int64_t seed) {
  info_["seed"] = seed;
  write_info();
}

void Run::log_metric(const std::string& key, double value, int64_t step) {
  validate_key("metric", key);
  if (metrics_ == nullptr) throw RuntimeError("run " + id_ + " is closed: cannot log metric " + key);
  std::string line = "{\"key\":" + nlohmann::json(key).dump() + ",\"value\":" + metric_value_json(value) +
                     ",\"step\":" + std::to_string(step) + ",\"timestamp\":" + std::to_string(now_ms()) + "}\n";
  if (std::fwrite(line.data(), 1, line.size(), metrics_) != line.size() || std::fflush(metrics_) != 0) {
    throw RuntimeError("cannot append to " + dir_ + "/metrics.jsonl: " + std::strerror(errno));
  }
  if (fsync_every_ > 0 && ++unsynced_ >= fsync_every_) {
    fsync(fileno(metrics_));
    unsynced_ = 0;
  }
}

std::string Run::artifacts_dir() const { return (fs::path(dir_) / "artifacts").string(); }

std::string Run::artifact_path(const std::string& rel) const {
  fs::path r(rel);
  if (rel.empty() || r.is_absolute()) {
    throw UsageError("artifact path must be relative to the run's artifacts folder, got '" + rel + "'");
  }
  for (const auto& part : r) {
    if (part == "..") throw UsageError("artifact path must stay inside the artifacts folder, got '" + rel + "'");
  }
  fs::path p = fs::path(artifacts_dir()) / r;
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) throw RuntimeError("cannot create " + p.parent_path().string() + ": " + ec.message());
  return p.string();
}

std::string Run::log_artifact(const std::string& src, const std::string& rel) {
  std::string dest = artifact_path(rel.empty() ? fs::path(src).filename().string() : rel);
  std::error_code ec;
  if (fs::is_directory(src, ec)) {
    fs::copy(src, dest, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  } else {
    fs::copy_file(src, dest, fs::copy_options::overwrite_existing, ec);
  }
  if (ec) throw RuntimeError("cannot copy artifact " + src + " to " + dest + ": " + ec.message());
  return dest;
}

void Run::close_metrics() {
  if (metrics_ != nullptr) {
    std::fflush(metrics_);
    fsync(fileno(metrics_));
    std::fclose(metrics_);
    metrics_ = nullptr;
  }
}

void Run::end(RunStatus status, const std::string& error, int signal) {
  if (ended_) return;
  ended_ = true;
  close_metrics();
  info_["status"] = status_name(status);
  info_["end_time"] = now_ms();
  if (status == RunStatus::kFailed) info_["error"] = error.empty() ? std::string("unknown error") : error;
  if (status == RunStatus::kKilled && signal != 0) {
    info_["signal"] = signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : std::to_string(signal);
  }
  write_info();
  spdlog::info("run {} {}", id_, status_name(status));
}

void Run::discard() {
  ended_ = true;
  close_metrics();
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) spdlog::warn("could not remove run folder {}: {}", dir_, ec.message());
}

void Run::end_with_current_exception() {
  RunStatus status = RunStatus::kFailed;
  std::string error = "the run ended without being finished";
  int signal = 0;
  if (std::exception_ptr ex = std::current_exception()) {
    try {
      std::rethrow_exception(ex);
    } catch (const InterruptedError& e) {
      status = RunStatus::kKilled;
      signal = e.signal();
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
  }
  try {
    end(status, error, signal);
  } catch (const std::exception& e) {
    spdlog::warn("could not record the end of run {}: {}", id_, e.what());
  }
}

}  // namespace nlpc::runs
