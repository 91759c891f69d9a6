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
#include "nlpc/data/model_columns.h"
#include "nlpc/data/text_rows.h"
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

// The texts of --data (with their pairs when the model reads a pair column), or the built-in ones.
struct BenchTexts {
  std::vector<std::string> texts, pairs;
  const std::vector<std::string>* pairs_or_null() const { return pairs.empty() ? nullptr : &pairs; }
};

BenchTexts load_texts(const BenchOptions& o) {
  BenchTexts b;
  if (o.data.empty()) {
    for (const char* t : kSampleTexts) b.texts.emplace_back(t);
    return b;
  }
  DataSpec spec;
  spec.text_column = o.text_column;
  spec.pair_column = o.pair_column;
  const std::string taken = o.columns_given ? "" : apply_model_columns(o.model, spec, {});
  return read_with_model_columns(o.model, taken, [&] {
    io::TableReader reader(o.data);
    const std::vector<size_t> cols = text_column_indices(reader, spec.text_column);
    const int64_t pair = spec.pair_column.empty() ? -1 : static_cast<int64_t>(reader.column_index(spec.pair_column));
    io::TableRecord rec;
    const size_t limit = static_cast<size_t>(std::max(o.texts, 128 * 4));
    while (b.texts.size() < limit && reader.next(rec)) {
      b.texts.push_back(join_text_columns(rec.fields, cols));
      if (pair >= 0) b.pairs.push_back(rec.fields.at(static_cast<size_t>(pair)));
    }
    if (b.texts.empty()) throw InputError(o.data, 0, 0, "no data rows; give a file with at least one text");
    return b;
  });
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

// One text (and its pair) as a batch of one.
void predict_one(TextClassifier& model, const BenchTexts& in, size_t i) {
  const size_t k = i % in.texts.size();
  if (in.pairs.empty()) {
    model.predict_proba({in.texts[k]});
  } else {
    const std::vector<std::string> pair{in.pairs[k]};
    model.predict_proba({in.texts[k]}, &pair);
  }
}

std::vector<double> single_text_latencies_ms(TextClassifier& model, const BenchTexts& in, int n, int warmup) {
  for (int i = 0; i < warmup; ++i) predict_one(model, in, static_cast<size_t>(i));
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    check_interrupted();
    const auto t0 = Clock::now();
    predict_one(model, in, static_cast<size_t>(i));
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return ms;
}

// Texts per second at one batch size: whole batches until min_seconds have passed (at least 3).
double throughput(TextClassifier& model, const BenchTexts& in, int batch, double min_seconds) {
  std::vector<std::string> b(static_cast<size_t>(batch)), p(in.pairs.empty() ? 0 : static_cast<size_t>(batch));
  const std::vector<std::string>* pairs = in.pairs.empty() ? nullptr : &p;
  size_t next = 0;
  auto fill = [&] {
    for (size_t i = 0; i < b.size(); ++i, ++next) {
      b[i] = in.texts[next % in.texts.size()];
      if (pairs) p[i] = in.pairs[next % in.pairs.size()];
    }
  };
  fill();
  model.predict_proba(b, pairs);  // warm-up
  int64_t done = 0;
  int calls = 0;
  const auto t0 = Clock::now();
  double secs = 0;
  while (calls < 3 || secs < min_seconds) {
    check_interrupted();
    fill();
    model.predict_proba(b, pairs);
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
  const BenchTexts texts = load_texts(o);
  const int64_t rss_before = current_rss_bytes();
  const auto t0 = Clock::now();
  auto model = load_text_classifier(o.model, o.device, o.precision);
  const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const int64_t rss_after_load = current_rss_bytes();
  auto lat = single_text_latencies_ms(*model, texts, o.texts, o.warmup);
  json tp = json::object();
  for (int b : o.batch_sizes) tp[std::to_string(b)] = throughput(*model, texts, b, o.min_seconds);
  json r;
  r["model"] = o.model;
  r["architecture"] = model->architecture();
  r["device"] = o.device;
  r["precision"] = o.precision;
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
  return runs::record_if_inputs_valid(run, [&] {
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
