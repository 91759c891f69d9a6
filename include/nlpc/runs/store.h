#pragma once
// Reading run folders back: listing, lookup by id prefix, metric histories and summaries.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nlpc::runs {

struct MetricPoint {
  std::string key;
  double value = 0.0;
  int64_t step = 0;
  int64_t timestamp = 0;
};

// Per-key summary of a metric history.
struct MetricSummary {
  std::string key;
  double final_value = 0.0;  // value at the largest step (latest timestamp, then later line, on ties)
  int64_t final_step = 0;
  double best_value = 0.0;   // max, or min when lower_is_better(key)
  int64_t best_step = 0;
  int64_t count = 0;
  bool lower_is_better = false;
};

// True when the key names a quantity to minimise: one of its words (split on / . _ - and spaces,
// lower-cased) is loss, nll, error, err, wer, cer, perplexity, ppl, mse, mae or rmse.
bool lower_is_better(const std::string& key);

struct RunRecord {
  std::string dir;
  nlohmann::json info;    // run.json
  nlohmann::json params;  // params.json ({} when absent)
  nlohmann::json tags;    // tags.json ({} when absent)
  std::vector<MetricPoint> metrics;  // in file order
  // Relative paths of the files under artifacts/, sorted.
  std::vector<std::string> artifacts;

  std::string id() const;
  std::string name() const;
  std::string experiment() const;
  std::string status() const;
  int64_t start_time() const;
  std::optional<int64_t> end_time() const;
  // Sorted by key.
  std::vector<MetricSummary> metric_summaries() const;
  // True when status is RUNNING, the run was started on this host and its pid no longer exists.
  bool process_gone() const;
};

// Reads metrics.jsonl. A last line without its newline (a hard kill mid-write) is ignored; any
// other malformed line throws InputError with the file and line.
std::vector<MetricPoint> read_metrics(const std::string& path);
std::vector<MetricSummary> summarize_metrics(const std::vector<MetricPoint>& points);

// Loads one run folder; throws InputError when run.json is missing or malformed.
RunRecord load_run(const std::string& run_dir);
// Every run under runs_dir (only `experiment` when not empty), newest start first. Folders that
// are not runs are skipped; malformed runs are skipped with a warning.
std::vector<RunRecord> list_runs(const std::string& runs_dir, const std::string& experiment = "");
// The folder of the run whose id starts with `id_prefix` (any unique prefix).
// Throws UsageError when none or several match (naming them).
std::string find_run(const std::string& runs_dir, const std::string& id_prefix);

}  // namespace nlpc::runs
