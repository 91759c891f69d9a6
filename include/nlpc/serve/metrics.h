#pragma once
// Server metrics in the Prometheus text exposition format (version 0.0.4):
//   nlpc_http_requests_total{endpoint,status}         counter
//   nlpc_http_request_duration_seconds{endpoint}      histogram
//   nlpc_batch_size                                   histogram (texts per model call)
//   nlpc_texts_predicted_total                        counter
//   nlpc_queue_texts                                  gauge (set when rendering)
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace nlpc::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // Appends `name_bucket{labels,le=..}`, `name_sum`, `name_count` lines.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket (not cumulative), last = +Inf
  double sum_ = 0;
  int64_t count_ = 0;
};

class Metrics {
 public:
  // Maps a request path to an endpoint label ("other" for unknown paths, to bound cardinality).
  static std::string endpoint_label(const std::string& path);
  void record_request(const std::string& endpoint, int status, double seconds);
  void record_batch(size_t texts);
  std::string render(size_t queued_texts) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::map<std::string, Histogram> durations_;
  Histogram batch_sizes_{{1, 2, 4, 8, 16, 32, 64, 128, 256}};
  int64_t texts_ = 0;
  int64_t batches_ = 0;
};

}  // namespace nlpc::serve
