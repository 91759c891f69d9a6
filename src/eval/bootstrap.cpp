#include "nlpc/eval/bootstrap.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "nlpc/core/error.h"
#include "nlpc/core/signals.h"
#include "nlpc/core/system.h"

namespace nlpc::eval {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Row indices of replicate b: n draws with replacement, from a generator seeded with (seed, b).
std::vector<int64_t> resample(int64_t n, uint64_t seed, int64_t b) {
  uint64_t state = seed * 0xD1B54A32D192ED03ULL + uint64_t(b) + 1;
  splitmix64(state);
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (auto& r : rows) {
    r = int64_t((unsigned __int128)splitmix64(state) * uint64_t(n) >> 64);
  }
  return rows;
}

}  // namespace

double percentile(std::vector<double>& values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  double pos = q / 100.0 * double(values.size() - 1);
  size_t lo = size_t(std::floor(pos));
  size_t hi = std::min(lo + 1, values.size() - 1);
  double frac = pos - double(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

std::vector<MetricInterval> bootstrap(int64_t n, const RowMetricFn& metric_fn,
                                      const BootstrapOptions& opts) {
  if (opts.resamples < 1) throw UsageError("--bootstrap needs at least 1 resample");
  if (!(opts.ci > 0 && opts.ci < 1)) {
    throw UsageError("--ci must be strictly between 0 and 1 (e.g. 0.95), got " + std::to_string(opts.ci));
  }
  if (n < 1) throw InputError("bootstrap: no rows to resample");
  std::vector<int64_t> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[size_t(i)] = i;
  MetricSet full = metric_fn(all);

  std::vector<MetricSet> reps(size_t(opts.resamples));
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&]() {
    try {
      for (int64_t b; (b = next.fetch_add(1)) < opts.resamples;) {
        check_interrupted();
        reps[size_t(b)] = metric_fn(resample(n, opts.seed, b));
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = opts.resamples;
    }
  };
  int threads = opts.threads > 0 ? opts.threads : num_threads();
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, opts.resamples)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);

  double alpha = (1 - opts.ci) / 2 * 100;
  std::vector<MetricInterval> out;
  std::vector<double> values;
  for (const auto& [name, value] : full.items()) {
    values.clear();
    for (const auto& r : reps) {
      double v = r.get_or_nan(name);
      if (std::isfinite(v)) values.push_back(v);
    }
    MetricInterval mi;
    mi.name = name;
    mi.value = value;
    mi.resamples = int64_t(values.size());
    mi.lower = percentile(values, alpha);
    mi.upper = percentile(values, 100 - alpha);
    out.push_back(mi);
  }
  return out;
}

}  // namespace nlpc::eval
