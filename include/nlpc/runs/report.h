#pragma once
// `nlpc runs report`: one self-contained HTML file (inline SVG and CSS; no scripts, no network)
// comparing runs, and the per-run SVG charts that `nlpc train`/`nlpc eval` write into artifacts/.
//
// Files read from a run folder (all optional except run.json):
//   run.json, params.json (flat), metrics.jsonl ({"key","value","step","timestamp"} per line),
//   artifacts/confusion_matrix.json       {"labels": [...], "matrix": [[count, ...], ...]}  (rows = true)
//   artifacts/classification_report.json {"labels": [...], "precision": [...], "recall": [...],
//                                          "f1": [...], "support": [...]}
//   artifacts/bootstrap.json              {"ci": 0.95, "n": 1000, "metrics": {"accuracy":
//                                          {"value": v, "low": l, "high": h}, ...}}
//   artifacts/bench.json                  output of `nlpc bench --json`
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nlpc {

struct ReportRun {
  std::string dir;
  nlohmann::json run;     // run.json
  nlohmann::json params;  // params.json (flat)
  // key → (step, value) in logging order
  std::map<std::string, std::vector<std::pair<double, double>>> metrics;
  nlohmann::json confusion, per_class, bootstrap, bench;  // null when absent
  std::string label() const;                              // run_name (short id)
  // Last logged value of `key`, else of "test/<key>"; NaN when absent.
  double final_metric(const std::string& key) const;
};

ReportRun load_report_run(const std::string& run_dir);

struct ReportOptions {
  std::vector<std::string> run_dirs;
  std::string title = "nlpc run report";
  std::string metric = "accuracy";  // bar chart with CIs
  bool metric_required = false;     // --metric given: a metric no run has is a UsageError (exit 2)
  std::vector<std::string> radar_metrics{"accuracy", "f1_macro", "precision_macro", "recall_macro",
                                         "f1_weighted", "roc_auc_ovr_macro"};
  size_t max_classes = 60;  // confusion matrices: the most frequent classes, the rest as "other"
};

std::string render_report(const ReportOptions& opts);

// Writes artifacts/*.svg of one run (loss and metric curves, confusion matrix counts and row-normalised).
// Returns the files written.
std::vector<std::string> write_run_charts(const std::string& run_dir);

// Keeps the `keep` most frequent true classes and folds the others into "other" (rows and columns).
void fold_confusion(std::vector<std::string>& labels, std::vector<std::vector<double>>& matrix, size_t keep);

}  // namespace nlpc
