#pragma once
// MetricSet: an ordered list of (name, value) pairs, the one container every evaluation returns.
// Names are stable, lower-case, '/'-separated for per-class values: "accuracy", "f1_macro",
// "f1/<label>". Insertion order is kept so tables and logs print in a meaningful order.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nlpc::eval {

class MetricSet {
 public:
  // Adds or replaces `name`.
  void set(const std::string& name, double value);
  bool has(const std::string& name) const;
  // Throws UsageError naming the metric (and listing the available ones) when absent.
  double get(const std::string& name) const;
  // NaN when absent.
  double get_or_nan(const std::string& name) const;
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Appends all of `other`, each name prefixed (e.g. "test/").
  void merge(const MetricSet& other, const std::string& prefix = "");

  // {"accuracy": 0.84, ...} in insertion order; NaN is written as null.
  std::string to_json() const;
  // Two aligned columns, one metric per line; `digits` decimals.
  std::string to_table(int digits = 4) const;

 private:
  std::vector<std::pair<std::string, double>> items_;
};

// A metric with its percentile bootstrap confidence interval.
struct MetricInterval {
  std::string name;
  double value = 0;  // on the full sample
  double lower = 0;  // NaN when no resample produced a finite value
  double upper = 0;
  int64_t resamples = 0;  // resamples with a finite value
};

// "name  value  [lower, upper]" table.
std::string format_intervals(const std::vector<MetricInterval>& rows, double ci, int digits = 4);

// "name  value  [low, high]" lines (%-22s %.4f), one per metric of `metrics` (per-class ones,
// with a '/', left out when aggregate_only); the interval when `intervals` has a finite one.
std::string format_metric_lines(const MetricSet& metrics, const std::vector<MetricInterval>& intervals,
                                bool aggregate_only);

}  // namespace nlpc::eval
