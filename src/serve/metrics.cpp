#include "nlpc/serve/metrics.h"

#include <cstdio>

namespace nlpc::serve {
namespace {
std::string fmt_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
const std::vector<double> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10};
}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  int64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? fmt_number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + fmt_number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

std::string Metrics::endpoint_label(const std::string& path) {
  static const char* known[] = {"/",           "/v1/predict",    "/v1/model",
                                "/v1/models",  "/v1/summarize",  "/v1/transcribe",
                                "/v1/audio/transcriptions", "/v1/audio/translations", "/healthz",
                                "/metrics"};
  for (const char* k : known)
    if (path == k) return k;
  return "other";
}

void Metrics::record_request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
  auto it = durations_.find(endpoint);
  if (it == durations_.end()) it = durations_.emplace(endpoint, Histogram(kLatencyBounds)).first;
  it->second.observe(seconds);
}

void Metrics::record_batch(size_t texts) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_sizes_.observe(static_cast<double>(texts));
  texts_ += static_cast<int64_t>(texts);
  ++batches_;
}

std::string Metrics::render(size_t queued_texts) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP nlpc_http_requests_total HTTP requests by endpoint and status code.\n";
  out += "# TYPE nlpc_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += "nlpc_http_requests_total{endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(n) + "\n";
  out += "# HELP nlpc_http_request_duration_seconds Time from request parsed to response ready.\n";
  out += "# TYPE nlpc_http_request_duration_seconds histogram\n";
  for (const auto& [endpoint, h] : durations_)
    h.render(out, "nlpc_http_request_duration_seconds", "endpoint=\"" + endpoint + "\"");
  out += "# HELP nlpc_batch_size Items (texts, recordings) per model call.\n";
  out += "# TYPE nlpc_batch_size histogram\n";
  batch_sizes_.render(out, "nlpc_batch_size", "");
  out += "# HELP nlpc_texts_predicted_total Items through the models (texts classified or summarized, recordings transcribed).\n";
  out += "# TYPE nlpc_texts_predicted_total counter\n";
  out += "nlpc_texts_predicted_total " + std::to_string(texts_) + "\n";
  out += "# HELP nlpc_batches_total Model calls.\n";
  out += "# TYPE nlpc_batches_total counter\n";
  out += "nlpc_batches_total " + std::to_string(batches_) + "\n";
  out += "# HELP nlpc_queue_texts Texts waiting for the model.\n";
  out += "# TYPE nlpc_queue_texts gauge\n";
  out += "nlpc_queue_texts " + std::to_string(queued_texts) + "\n";
  return out;
}

}  // namespace nlpc::serve
