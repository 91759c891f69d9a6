#pragma once
// Percentile bootstrap confidence intervals. Rows are resampled with replacement; every replicate
// b draws from its own generator seeded with (seed, b), so results are identical for any number of
// threads. For each metric of the full-sample MetricSet the interval is the (1-ci)/2 and
// 1-(1-ci)/2 percentiles (linear interpolation, numpy's default) of its finite replicate values;
// replicates where a metric is NaN or missing (e.g. AUC with one class) are left out for it.
#include <cstdint>
#include <functional>
#include <vector>

#include "nlpc/eval/metric_set.h"

namespace nlpc::eval {

struct BootstrapOptions {
  int64_t resamples = 1000;
  double ci = 0.95;
  uint64_t seed = 0;
  int threads = 0;  // <= 0: nlpc::num_threads()
};

// metric_fn receives the resampled row indices (size n) and returns the metrics on those rows;
// it is called concurrently from several threads and must not share mutable state.
using RowMetricFn = std::function<MetricSet(const std::vector<int64_t>& rows)>;

std::vector<MetricInterval> bootstrap(int64_t n, const RowMetricFn& metric_fn,
                                      const BootstrapOptions& opts);

// Percentile with linear interpolation between order statistics (numpy.percentile default).
// `values` is sorted in place. q in [0, 100].
double percentile(std::vector<double>& values, double q);

}  // namespace nlpc::eval
