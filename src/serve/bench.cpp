#include "nlpc/serve/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/signals.h"
#include "nlpc/core/system.h"
#include "nlpc/io/table.h"
#include "nlpc/tasks/classification/classifier.h"

namespace nlpc {
namespace {
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* const kSampleTexts[] = {
    "The central bank raised interest rates by a quarter point to curb inflation.",
    "The striker scored twice in the second half to win the cup final.",
    "A new smartphone with a foldable screen goes on sale next month.",
    "Researchers found a new species of frog in the rainforest.",
    "The film won three awards at the festival, including best director.",
    "Parliament passed the budget after a long debate on Tuesday night.",
    "Shares fell sharply after the company cut its profit forecast.",
    "The team signed a young goalkeeper on a five-year contract.",
    "Scientists used a telescope to observe a distant galaxy forming stars.",
    "The band announced a world tour starting in the spring.",
    "Heavy rain caused flooding across the northern region overnight.",
    "The software update fixes a security flaw that let attackers read messages.",
    "Doctors recommend regular exercise and a balanced diet to lower blood pressure.",
    "Voters head to the polls on Sunday in a closely fought election.",
    "The museum reopened after a two-year renovation with a new wing for modern art.",
    "Oil prices climbed as supply worries grew."};

double mb(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::vector<std::string> load_texts(const BenchOptions& o) {
  std::vector<std::string> texts;
  if (o.data.empty()) {
    for (const char* t : kSampleTexts) texts.emplace_back(t);
    return texts;
  }
  io::TableReader reader(o.data);
  const size_t col = reader.column_index(o.text_column);
  io::TableRecord rec;
  const size_t limit = static_cast<size_t>(std::max(o.texts, 128 * 4));
  while (texts.size() < limit && reader.next(rec)) texts.push_back(rec.fields.at(col));
  if (texts.empty()) throw InputError(o.data, 0, 0, "no data rows; give a file with at least one text");
  return texts;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  // linear interpolation between closest ranks (numpy's default)
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

std::vector<double> single_text_latencies_ms(TextClassifier& model, const std::vector<std::string>& texts, int n,
                                             int warmup) {
  for (int i = 0; i < warmup; ++i) model.predict_proba({texts[size_t(i) % texts.size()]});
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    check_interrupted();
    const auto t0 = Clock::now();
    model.predict_proba({texts[size_t(i) % texts.size()]});
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return ms;
}

// Texts per second at one batch size: whole batches until min_seconds have passed (at least 3).
double throughput(TextClassifier& model, const std::vector<std::string>& texts, int batch, double min_seconds) {
  std::vector<std::string> b(static_cast<size_t>(batch));
  size_t next = 0;
  auto fill = [&] {
    for (auto& t : b) t = texts[next++ % texts.size()];
  };
  fill();
  model.predict_proba(b);  // warm-up
  int64_t done = 0;
  int calls = 0;
  const auto t0 = Clock::now();
  double secs = 0;
  while (calls < 3 || secs < min_seconds) {
    check_interrupted();
    fill();
    model.predict_proba(b);
    done += batch;
    ++calls;
    secs = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return static_cast<double>(done) / secs;
}

json measure(const BenchOptions& o) {
  if (o.texts < 1) throw UsageError("--texts must be at least 1");
  for (int b : o.batch_sizes)
    if (b < 1) throw UsageError("--batch-sizes must be positive, got " + std::to_string(b));
  std::vector<std::string> texts = load_texts(o);
  const int64_t rss_before = current_rss_bytes();
  const auto t0 = Clock::now();
  auto model = load_text_classifier(o.model, o.device);
  const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const int64_t rss_after_load = current_rss_bytes();
  auto lat = single_text_latencies_ms(*model, texts, o.texts, o.warmup);
  json tp = json::object();
  for (int b : o.batch_sizes) tp[std::to_string(b)] = throughput(*model, texts, b, o.min_seconds);
  json r;
  r["model"] = o.model;
  r["architecture"] = model->architecture();
  r["device"] = o.device;
  r["threads"] = num_threads();
  r["texts"] = o.texts;
  r["data"] = o.data.empty() ? "built-in sample texts" : o.data;
  r["load_ms"] = load_ms;
  r["latency_p50_ms"] = percentile(lat, 0.50);
  r["latency_p95_ms"] = percentile(lat, 0.95);
  r["latency_p99_ms"] = percentile(lat, 0.99);
  r["latency_mean_ms"] = [&] {
    double s = 0;
    for (double v : lat) s += v;
    return s / static_cast<double>(lat.size());
  }();
  r["throughput"] = tp;
  r["parameters"] = model->num_parameters();
  r["size_mb"] = mb(directory_size_bytes(o.model));
  r["rss_before_load_mb"] = mb(rss_before);
  r["rss_after_load_mb"] = mb(rss_after_load);
  r["peak_rss_mb"] = mb(peak_rss_bytes());
  return r;
}

}  // namespace

int64_t directory_size_bytes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir, 0, 0, "not a model folder (expected a directory)");
  int64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += static_cast<int64_t>(it->file_size(ec));
  }
  return total;
}

std::string format_bench_table(const json& r) {
  std::string out;
  char line[256];
  auto row = [&](const char* name, const std::string& value) {
    std::snprintf(line, sizeof line, "%-24s %s\n", name, value.c_str());
    out += line;
  };
  auto num = [&](double v, const char* fmt) {
    char b[64];
    std::snprintf(b, sizeof b, fmt, v);
    return std::string(b);
  };
  row("model", r.value("model", ""));
  row("architecture", r.value("architecture", ""));
  row("device / threads", r.value("device", "") + " / " + std::to_string(r.value("threads", 0)));
  row("parameters", std::to_string(r.value("parameters", int64_t(0))));
  row("size on disk", num(r.value("size_mb", 0.0), "%.2f MB"));
  row("load time", num(r.value("load_ms", 0.0), "%.1f ms"));
  row("latency p50 (1 text)", num(r.value("latency_p50_ms", 0.0), "%.3f ms"));
  row("latency p95", num(r.value("latency_p95_ms", 0.0), "%.3f ms"));
  row("latency p99", num(r.value("latency_p99_ms", 0.0), "%.3f ms"));
  std::vector<std::pair<int, double>> tp;  // numeric order (JSON object keys sort as strings)
  for (const auto& [batch, v] : r.at("throughput").items()) tp.emplace_back(std::stoi(batch), v.get<double>());
  std::sort(tp.begin(), tp.end());
  for (const auto& [batch, v] : tp) row(("throughput @" + std::to_string(batch)).c_str(), num(v, "%.1f texts/s"));
  row("RSS after load", num(r.value("rss_after_load_mb", 0.0), "%.1f MB"));
  row("peak RSS", num(r.value("peak_rss_mb", 0.0), "%.1f MB"));
  return out;
}

json run_bench(const BenchOptions& o) {
  if (!o.record_run) return measure(o);
  runs::Run run = runs::Run::start(o.run);
  return runs::record(run, [&] {
    run.set_tag("command", "bench");
    run.log_params(json{{"bench", {{"model", o.model}, {"data", o.data}, {"texts", o.texts}, {"device", o.device}}}});
    json r = measure(o);
    r["run_id"] = run.id();
    write_file_atomic(run.artifact_path("bench.json"), r.dump(2) + "\n");
    for (const char* k : {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "size_mb", "rss_after_load_mb",
                          "peak_rss_mb"})
      run.log_metric(std::string("bench/") + k, r.at(k).get<double>(), 0);
    for (const auto& [batch, v] : r.at("throughput").items())
      run.log_metric("bench/throughput_" + batch, v.get<double>(), 0);
    return r;
  });
}

}  // namespace nlpc
