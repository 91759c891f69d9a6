#pragma once
// Regression gates for CI: `--gate "accuracy>=0.80"` (several allowed) and
// `--baseline RUN|metrics.json --max-drop 0.01`. A failed gate makes `nlpc eval` exit 3.
#include <map>
#include <string>
#include <vector>

namespace nlpc {

using MetricMap = std::map<std::string, double>;

// True for the aggregate metric names (no '/'), which are logged as metrics and gated; per-class
// values ("precision/<label>") go into reports.
bool is_aggregate_metric(const std::string& name);

struct Gate {
  std::string metric;
  std::string op;  // >= <= > < ==
  double value = 0;
  std::string text;  // as given
};

// Parses "metric>=0.8" (spaces allowed). Throws UsageError on a malformed gate.
Gate parse_gate(const std::string& text);

struct GateResult {
  bool passed = true;
  std::vector<std::string> lines;     // one per comparison: "PASS accuracy 0.8312 >= 0.8000"
  std::vector<std::string> failures;  // the failing lines only
};


// Checks explicit gates; a gate on a metric absent from `metrics` is a UsageError listing the
// metrics that exist.
GateResult check_gates(const MetricMap& metrics, const std::vector<Gate>& gates);
// Compares with a baseline: every metric present in both may drop by at most max_drop (rise, for
// lower-is-better metrics). Metrics only in one of them are ignored; no common metric is an error.
GateResult check_baseline(const MetricMap& metrics, const MetricMap& baseline, double max_drop,
                          const std::string& baseline_name);

}  // namespace nlpc
