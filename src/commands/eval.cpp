// `nlpc eval`: the task-agnostic part (run record, gates, baseline); the scoring is the task's
// (tasks::find_task(opts.task).evaluate).
#include "nlpc/commands/eval.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/data/model_columns.h"
#include "nlpc/eval/gate.h"
#include "nlpc/tasks/registry.h"
#include "nlpc/runs/store.h"

namespace nlpc {
namespace fs = std::filesystem;

namespace {
// Final test/<metric> values of a run, or the numbers of a metrics JSON file.
MetricMap load_baseline(const std::string& baseline, const std::string& runs_dir) {
  MetricMap m;
  if (fs::is_regular_file(baseline)) {
    const nlohmann::json j = read_json_file(baseline);
    if (!j.is_object()) throw InputError(baseline, 0, 0, "expected a JSON object of metric values");
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_number() && is_aggregate_metric(it.key())) m[it.key()] = it.value().get<double>();
    }
    if (m.empty()) throw InputError(baseline, 0, 0, "no numeric metric values found");
    return m;
  }
  const std::string dir = fs::exists(fs::path(baseline) / "run.json")
                              ? baseline
                              : runs::find_run(runs::resolve_runs_dir(runs_dir), baseline);
  for (const auto& s : runs::load_run(dir).metric_summaries()) {
    if (s.key.rfind("test/", 0) == 0) m[s.key.substr(5)] = s.final_value;
  }
  if (m.empty()) throw UsageError("--baseline " + baseline + ": the run has no test/<metric> values");
  return m;
}

// Prints and applies --gate and --baseline/--max-drop; kExitGate when one fails.
int check_eval_gates(const MetricMap& aggregate, const std::vector<Gate>& gates, const MetricMap& baseline,
                     const EvalCommandOptions& opts, runs::Run& run) {
  bool passed = true;
  std::vector<std::string> lines;
  if (!gates.empty()) {
    GateResult g = check_gates(aggregate, gates);
    passed = passed && g.passed;
    lines.insert(lines.end(), g.lines.begin(), g.lines.end());
  }
  if (!baseline.empty()) {
    GateResult g = check_baseline(aggregate, baseline, opts.max_drop, opts.baseline);
    passed = passed && g.passed;
    lines.insert(lines.end(), g.lines.begin(), g.lines.end());
  }
  if (!lines.empty()) {
    std::printf("gates:\n");
    for (const auto& l : lines) std::printf("  %s\n", l.c_str());
    std::fflush(stdout);
    run.set_tag("nlpc.gate", passed ? "passed" : "failed");
  }
  if (!passed) {
    std::fprintf(stderr, "error: evaluation gate failed\n");
    return kExitGate;
  }
  return 0;
}

}  // namespace

int run_eval(const EvalCommandOptions& given) {
  EvalCommandOptions opts = given;
  const std::string taken = apply_model_columns(opts.model, opts.spec, opts.columns_given);
  if (!taken.empty()) spdlog::info("columns of the model: {}", taken);
  const tasks::Task& task = tasks::find_task(opts.task);
  std::vector<Gate> gates;
  for (const auto& g : opts.gates) gates.push_back(parse_gate(g));
  if (opts.bootstrap < 0) throw UsageError("--bootstrap must be >= 0");
  if (opts.ci <= 0 || opts.ci >= 1) throw UsageError("--ci must be in (0, 1)");
  if (!opts.baseline.empty() && !task.baseline_gate) {
    throw UsageError("--baseline is not supported with --task " + task.name + " yet: use --gate");
  }
  MetricMap baseline;
  if (!opts.baseline.empty()) baseline = load_baseline(opts.baseline, opts.run.runs_dir);

  runs::Run run = runs::Run::start(opts.run);
  run.set_seed(static_cast<int64_t>(opts.seed));
  run.set_tag("nlpc.command", "eval");
  if (!task.run_tag.empty()) run.set_tag("nlpc.task", task.run_tag);
  return runs::record_if_inputs_valid(run, [&]() -> int {
    const MetricMap aggregate =
        read_with_model_columns(opts.model, taken, [&] { return task.evaluate(opts, run); });
    return check_eval_gates(aggregate, gates, baseline, opts, run);
  });
}

}  // namespace nlpc
