#include "nlpc/app/eval.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "nlpc/app/asr.h"
#include "nlpc/app/evaluate.h"
#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/eval/gate.h"
#include "nlpc/models/text_classifier.h"
#include "nlpc/runs/report.h"
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

int run_eval(const EvalCommandOptions& opts) {
  if (opts.task != "classification" && opts.task != "asr") {
    throw UsageError("--task: expected classification or asr, got '" + opts.task + "'");
  }
  std::vector<Gate> gates;
  for (const auto& g : opts.gates) gates.push_back(parse_gate(g));
  if (opts.bootstrap < 0) throw UsageError("--bootstrap must be >= 0");
  if (opts.ci <= 0 || opts.ci >= 1) throw UsageError("--ci must be in (0, 1)");
  MetricMap baseline;
  if (!opts.baseline.empty()) baseline = load_baseline(opts.baseline, opts.run.runs_dir);

  runs::Run run = runs::Run::start(opts.run);
  run.set_seed(static_cast<int64_t>(opts.seed));
  run.set_tag("nlpc.command", "eval");
  run.log_params(nlohmann::json{{"eval",
                                 {{"model", opts.model},
                                  {"data", opts.data},
                                  {"text_column", opts.text_column},
                                  {"label_column", opts.label_column},
                                  {"bootstrap", opts.bootstrap},
                                  {"ci", opts.ci}}}});
  if (opts.task == "asr") run.log_param("eval.task", "asr");
  return runs::record(run, [&]() -> int {
    MetricMap aggregate;
    if (opts.task == "asr") {
      const eval::MetricSet asr = run_asr_eval(opts, run);  // src/app/asr.cpp
      for (const auto& [name, v] : asr.items()) aggregate[name] = v;
      return check_eval_gates(aggregate, gates, baseline, opts, run);
    }
    auto clf = load_text_classifier(opts.model, opts.device);
    run.log_param("model.type", clf->architecture());
    DataSpec spec;
    spec.format = opts.format;
    spec.delimiter = opts.delimiter;
    spec.text_column = opts.text_column;
    spec.pair_column = opts.pair_column;
    spec.label_column = opts.label_column;
    spec.multilabel = clf->multilabel();
    spec.label_separator = opts.label_separator;
    spec.empty_text = opts.empty_text;
    LabelledSet data = read_labelled_set(opts.data, spec);
    map_labels(data, clf->labels(), spec);
    EvalSettings es;
    es.bootstrap = opts.bootstrap;
    es.ci = opts.ci;
    es.seed = opts.seed;
    es.errors = opts.errors;
    es.batch_size = opts.batch_size;
    EvalResult r = evaluate_classifier(*clf, data, es);
    for (const auto& [name, v] : r.metrics.items()) {
      if (!is_aggregate_metric(name)) continue;
      run.log_metric("test/" + name, v, 0);
      aggregate[name] = v;
    }
    write_eval_artifacts(run.artifacts_dir(), r, data, clf->labels(), es);
    write_run_charts(run.dir());
    if (!opts.errors_output.empty() && file_exists(run.artifact_path("errors.csv"))) {
      write_file_atomic(opts.errors_output, read_file(run.artifact_path("errors.csv")));
    }
    if (!opts.metrics_output.empty()) write_file_atomic(opts.metrics_output, r.metrics.to_json() + "\n");
    std::printf("run %s (%s) in %s\n", run.id().c_str(), run.name().c_str(), run.dir().c_str());
    std::printf("metrics on %s (%zu rows):\n%s", opts.data.c_str(), data.texts.size(),
                format_metrics_table(r).c_str());
    std::fflush(stdout);

    return check_eval_gates(aggregate, gates, baseline, opts, run);
  });
}

}  // namespace nlpc
