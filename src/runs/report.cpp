#include "nlpc/runs/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/system.h"
#include "nlpc/runs/svg.h"

namespace nlpc {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
json read_json_or_null(const fs::path& p) {
  if (!fs::exists(p)) return nullptr;
  try {
    return json::parse(read_file(p.string()));
  } catch (const json::exception& e) {
    throw InputError(p.string(), 0, 0, std::string("invalid JSON: ") + e.what());
  }
}

std::string fmt(double v) {
  if (!std::isfinite(v)) return "–";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  return buf;
}

const char* kCss = R"(body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f4f6f8}td.l,th.l{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}
.scroll{overflow:auto;max-width:100%;max-height:900px;border:1px solid #eee}.muted{color:#777;font-size:12px}
.fit{max-width:100%}.fit svg{max-width:100%;height:auto;display:block}
.status-FINISHED{color:#1a7f37}.status-FAILED{color:#cf222e}.status-KILLED{color:#bf8700}.status-RUNNING{color:#0969da})";

std::vector<std::vector<double>> matrix_of(const json& cm) {
  std::vector<std::vector<double>> m;
  for (const auto& row : cm.at("matrix")) {
    std::vector<double> r;
    for (const auto& v : row) r.push_back(v.get<double>());
    m.push_back(std::move(r));
  }
  return m;
}

std::vector<std::string> labels_of(const json& j) {
  std::vector<std::string> l;
  for (const auto& v : j.at("labels")) l.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return l;
}

// Keys plotted as curves: train/loss first, then valid/* metrics.
std::vector<std::string> curve_keys(const std::vector<ReportRun>& runs) {
  std::set<std::string> keys;
  for (const auto& r : runs)
    for (const auto& [k, v] : r.metrics)
      if (v.size() > 1 && k != "train/lr") keys.insert(k);
  std::vector<std::string> out(keys.begin(), keys.end());
  std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    auto rank = [](const std::string& k) { return k == "train/loss" ? 0 : k.rfind("train/", 0) == 0 ? 1 : 2; };
    return rank(a) < rank(b);
  });
  return out;
}
}  // namespace

std::string ReportRun::label() const {
  std::string name = run.value("run_name", "");
  std::string id = run.value("run_id", "");
  return name.empty() ? id.substr(0, 8) : name + " (" + id.substr(0, 6) + ")";
}

double ReportRun::final_metric(const std::string& key) const {
  for (const std::string& k : {key, "test/" + key}) {
    auto it = metrics.find(k);
    if (it != metrics.end() && !it->second.empty()) return it->second.back().second;
  }
  return std::nan("");
}

ReportRun load_report_run(const std::string& run_dir) {
  ReportRun r;
  r.dir = run_dir;
  const fs::path d(run_dir);
  r.run = read_json_or_null(d / "run.json");
  if (r.run.is_null()) throw InputError(run_dir, 0, 0, "not a run folder: run.json is missing");
  r.params = read_json_or_null(d / "params.json");
  std::ifstream mf(d / "metrics.jsonl");
  std::string line;
  int64_t n = 0;
  while (std::getline(mf, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      json m = json::parse(line);
      double v = m.at("value").is_number() ? m.at("value").get<double>() : std::nan("");
      r.metrics[m.at("key").get<std::string>()].emplace_back(m.value("step", 0.0), v);
    } catch (const json::exception&) {
      // A run killed mid-write may leave a partial last line: skip it, keep the rest.
      if (mf.peek() != EOF) throw InputError((d / "metrics.jsonl").string(), n, 1, "invalid metric line");
    }
  }
  const fs::path a = d / "artifacts";
  r.confusion = read_json_or_null(a / "confusion_matrix.json");
  r.per_class = read_json_or_null(a / "classification_report.json");
  r.bootstrap = read_json_or_null(a / "bootstrap.json");
  r.bench = read_json_or_null(a / "bench.json");
  return r;
}

void fold_confusion(std::vector<std::string>& labels, std::vector<std::vector<double>>& m, size_t keep) {
  const size_t n = labels.size();
  if (n <= keep || keep == 0) return;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto support = [&](size_t i) { return std::accumulate(m[i].begin(), m[i].end(), 0.0); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return support(a) > support(b); });
  std::vector<size_t> slot(n, keep - 1);  // last slot is "other"
  for (size_t r = 0; r + 1 < keep; ++r) slot[order[r]] = r;
  std::vector<std::string> nl(keep);
  for (size_t r = 0; r + 1 < keep; ++r) nl[r] = labels[order[r]];
  nl[keep - 1] = "other (" + std::to_string(n - keep + 1) + " classes)";
  std::vector<std::vector<double>> nm(keep, std::vector<double>(keep, 0));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n && j < m[i].size(); ++j) nm[slot[i]][slot[j]] += m[i][j];
  labels = std::move(nl);
  m = std::move(nm);
}

namespace {
// --metric that no run has: a usage error with the metrics the runs do have (and the closest one),
// instead of a silently missing chart.
void check_metric(const std::vector<ReportRun>& runs, const std::string& metric) {
  std::set<std::string> names;
  for (const auto& r : runs) {
    if (std::isfinite(r.final_metric(metric))) return;
    for (const auto& [k, v] : r.metrics) {
      const std::string name = k.rfind("test/", 0) == 0 ? k.substr(5) : k;
      if (name.find('/') == std::string::npos) names.insert(name);
    }
  }
  std::string list, closest;
  size_t best = 3;
  for (const auto& n : names) {
    list += (list.empty() ? "" : ", ") + n;
    const size_t d = edit_distance(metric, n);
    if (d < best) best = d, closest = n;
  }
  throw UsageError("--metric " + metric + ": none of the " + std::to_string(runs.size()) + " run(s) has it" +
                   (closest.empty() ? "" : "; did you mean " + closest + "?") +
                   (list.empty() ? "" : " Their metrics: " + list));
}

// The runs table: status, model type and the radar metrics of each run.
void write_summary_table(std::ostream& os, const std::vector<ReportRun>& runs, const ReportOptions& opts) {
  os << "<h2>Runs</h2><table><tr><th class=\"l\">run</th><th class=\"l\">experiment</th><th class=\"l\">status</th>"
        "<th class=\"l\">model</th>";
  for (const auto& m : opts.radar_metrics) os << "<th>" << svg::escape(m) << "</th>";
  os << "</tr>\n";
  for (const auto& r : runs) {
    const std::string status = r.run.value("status", "?");
    std::string model = r.params.is_object() ? r.params.value("model.type", "") : "";
    os << "<tr><td class=\"l\">" << svg::escape(r.label()) << "</td><td class=\"l\">"
       << svg::escape(r.run.value("experiment", "")) << "</td><td class=\"l status-" << svg::escape(status) << "\">"
       << svg::escape(status) << "</td><td class=\"l\">" << svg::escape(model) << "</td>";
    for (const auto& m : opts.radar_metrics) os << "<td>" << fmt(r.final_metric(m)) << "</td>";
    os << "</tr>\n";
  }
  os << "</table>\n";
}

// Line charts of every logged metric that has a history.
void write_curves(std::ostream& os, const std::vector<ReportRun>& runs, const ReportOptions& opts) {
  const auto keys = curve_keys(runs);
  if (!keys.empty()) {
    os << "<h2>Training curves</h2><div class=\"charts\">\n";
    for (const auto& k : keys) {
      std::vector<svg::Series> series;
      for (const auto& r : runs) {
        auto it = r.metrics.find(k);
        if (it != r.metrics.end()) series.push_back({r.label(), it->second});
      }
      os << svg::line_chart(k, "step", k, series) << "\n";
    }
    os << "</div>\n";
  }
}

// opts.metric of each run as bars, with its bootstrap interval when the run has one.
void write_ci_bars(std::ostream& os, const std::vector<ReportRun>& runs, const ReportOptions& opts) {
  std::vector<svg::Bar> bars;
  for (const auto& r : runs) {
    svg::Bar b;
    b.name = r.label();
    b.value = r.final_metric(opts.metric);
    if (r.bootstrap.is_object() && r.bootstrap.contains("metrics") && r.bootstrap["metrics"].contains(opts.metric)) {
      const json& ci = r.bootstrap["metrics"][opts.metric];
      b.value = ci.value("value", b.value);
      b.low = ci.value("low", b.value);
      b.high = ci.value("high", b.value);
      b.has_ci = true;
    }
    if (std::isfinite(b.value)) bars.push_back(b);
  }
  if (!bars.empty()) {
    os << "<h2>" << svg::escape(opts.metric) << " with 95% bootstrap confidence intervals</h2>\n<div class=\"fit\">"
       << svg::bar_chart(opts.metric, opts.metric, bars) << "</div>\n";
  }
}

// A radar of the radar metrics (when at least three have values) over the FINISHED runs: one chart
// for up to kOverlaid runs, else one small chart per run with the best run (by opts.metric) as a
// grey dashed outline, so that no chart holds more than two polygons.
constexpr size_t kOverlaid = 3;
void write_radar(std::ostream& os, const std::vector<ReportRun>& runs, const ReportOptions& opts) {
  std::vector<size_t> finished;  // indices into runs (colours follow the run's position)
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].run.value("status", "") == "FINISHED") finished.push_back(i);
  }
  std::vector<std::string> axes;
  for (const auto& m : opts.radar_metrics) {
    if (std::any_of(finished.begin(), finished.end(), [&](size_t i) { return std::isfinite(runs[i].final_metric(m)); }))
      axes.push_back(m);
  }
  if (axes.size() < 3 || finished.empty()) return;
  auto values = [&](size_t i) {
    std::vector<double> v;
    for (const auto& m : axes) v.push_back(runs[i].final_metric(m));
    return v;
  };
  os << "<h2>Metrics overview</h2>\n";
  if (finished.size() < runs.size()) {
    os << "<p class=\"muted\">" << runs.size() - finished.size()
       << " run(s) not FINISHED are left out (see the runs table).</p>\n";
  }
  if (finished.size() <= kOverlaid) {
    std::vector<std::pair<std::string, std::vector<double>>> series;
    for (size_t i : finished) series.emplace_back(runs[i].label(), values(i));
    os << "<div class=\"fit\">" << svg::radar_chart("metrics", axes, series, 130, finished.front()) << "</div>\n";
    return;
  }
  size_t best = finished.front();
  for (size_t i : finished) {
    const double v = runs[i].final_metric(opts.metric), b = runs[best].final_metric(opts.metric);
    if (std::isfinite(v) && (!std::isfinite(b) || v > b)) best = i;
  }
  os << "<p class=\"muted\">One chart per run; the grey dashed outline is the best run by "
     << svg::escape(opts.metric) << ", " << svg::escape(runs[best].label()) << ".</p><div class=\"charts\">\n";
  for (size_t i : finished) {
    std::vector<std::pair<std::string, std::vector<double>>> series{{runs[i].label(), values(i)}};
    if (i != best) series.emplace_back("", values(best));
    os << "<div class=\"fit\">" << svg::radar_chart(runs[i].label(), axes, series, 70, i) << "</div>\n";
  }
  os << "</div>\n";
}

// Confusion matrices (counts and row-normalised, long label lists folded) and per-class tables.
void write_class_sections(std::ostream& os, const std::vector<ReportRun>& runs, const ReportOptions& opts) {
  for (const auto& r : runs) {
    if (r.confusion.is_object()) {
      auto labels = labels_of(r.confusion);
      auto m = matrix_of(r.confusion);
      const size_t total = labels.size();
      fold_confusion(labels, m, opts.max_classes);
      os << "<h2>Confusion matrix: " << svg::escape(r.label()) << "</h2>";
      if (labels.size() < total) {
        os << "<p class=\"muted\">" << total << " classes: the " << labels.size() - 1
           << " most frequent shown, the rest folded into \"other\".</p>";
      }
      // scaled to the page width (the SVGs have a viewBox), never in scroll boxes
      os << "<div class=\"charts\"><div class=\"fit\">" << svg::heatmap("counts", labels, m, false)
         << "</div><div class=\"fit\">" << svg::heatmap("row-normalised", labels, m, true) << "</div></div>\n";
    }
    if (r.per_class.is_object()) {
      os << "<h2>Per-class metrics: " << svg::escape(r.label()) << "</h2><div class=\"scroll\"><table>"
         << "<tr><th class=\"l\">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>";
      const auto labels = labels_of(r.per_class);
      for (size_t i = 0; i < labels.size(); ++i) {
        auto at = [&](const char* k) {
          return r.per_class.contains(k) && i < r.per_class[k].size() ? r.per_class[k][i].get<double>() : NAN;
        };
        os << "<tr><td class=\"l\">" << svg::escape(labels[i]) << "</td><td>" << fmt(at("precision")) << "</td><td>"
           << fmt(at("recall")) << "</td><td>" << fmt(at("f1")) << "</td><td>"
           << (std::isfinite(at("support")) ? std::to_string(static_cast<int64_t>(at("support"))) : "–")
           << "</td></tr>";
      }
      os << "</table></div>\n";
    }
  }
}

// Latency, size and memory from `nlpc bench` (bench.json).
void write_cost_table(std::ostream& os, const std::vector<ReportRun>& runs, const ReportOptions& opts) {
  bool any_bench = false;
  for (const auto& r : runs) any_bench = any_bench || r.bench.is_object();
  if (any_bench) {
    os << "<h2>Cost</h2><table><tr><th class=\"l\">run</th><th>latency p50 ms</th><th>p95 ms</th><th>p99 ms</th>"
          "<th>size MB</th><th>peak RSS MB</th><th>parameters</th></tr>";
    for (const auto& r : runs) {
      if (!r.bench.is_object()) continue;
      auto g = [&](const char* k) { return r.bench.contains(k) && r.bench[k].is_number() ? r.bench[k].get<double>() : NAN; };
      os << "<tr><td class=\"l\">" << svg::escape(r.label()) << "</td><td>" << fmt(g("latency_p50_ms")) << "</td><td>"
         << fmt(g("latency_p95_ms")) << "</td><td>" << fmt(g("latency_p99_ms")) << "</td><td>" << fmt(g("size_mb"))
         << "</td><td>" << fmt(g("peak_rss_mb")) << "</td><td>"
         << (std::isfinite(g("parameters")) ? std::to_string(static_cast<int64_t>(g("parameters"))) : "–")
         << "</td></tr>";
    }
    os << "</table>\n";
  }
}

// The parameters whose values differ between the runs.
void write_differing_params(std::ostream& os, const std::vector<ReportRun>& runs, const ReportOptions& opts) {
  std::set<std::string> pkeys;
  for (const auto& r : runs)
    if (r.params.is_object())
      for (auto it = r.params.begin(); it != r.params.end(); ++it) pkeys.insert(it.key());
  std::vector<std::string> differing;
  for (const auto& k : pkeys) {
    std::set<std::string> values;
    for (const auto& r : runs) values.insert(r.params.is_object() && r.params.contains(k) ? r.params[k].dump() : "–");
    if (values.size() > 1) differing.push_back(k);
  }
  if (runs.size() > 1) {
    os << "<h2>Parameters that differ</h2>";
    if (differing.empty()) {
      os << "<p>None.</p>";
    } else {
      os << "<table><tr><th class=\"l\">param</th>";
      for (const auto& r : runs) os << "<th class=\"l\">" << svg::escape(r.label()) << "</th>";
      os << "</tr>";
      for (const auto& k : differing) {
        os << "<tr><td class=\"l\">" << svg::escape(k) << "</td>";
        for (const auto& r : runs) {
          std::string v = r.params.is_object() && r.params.contains(k)
                              ? (r.params[k].is_string() ? r.params[k].get<std::string>() : r.params[k].dump())
                              : "–";
          os << "<td class=\"l\">" << svg::escape(v) << "</td>";
        }
        os << "</tr>";
      }
      os << "</table>";
    }
  }
}
}  // namespace

std::string render_report(const ReportOptions& opts) {
  std::vector<ReportRun> runs;
  for (const auto& d : opts.run_dirs) runs.push_back(load_report_run(d));
  if (opts.metric_required) check_metric(runs, opts.metric);
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << svg::escape(opts.title)
     << "</title><style>" << kCss << "</style></head><body>\n<h1>" << svg::escape(opts.title) << "</h1>\n";
  os << "<p class=\"muted\">" << runs.size() << " run(s), rendered by nlpc " << nlpc_version() << "</p>\n";

  write_summary_table(os, runs, opts);
  write_curves(os, runs, opts);
  write_ci_bars(os, runs, opts);
  write_radar(os, runs, opts);
  write_class_sections(os, runs, opts);
  write_cost_table(os, runs, opts);
  write_differing_params(os, runs, opts);
  os << "\n</body></html>\n";
  return os.str();
}

std::vector<std::string> write_run_charts(const std::string& run_dir) {
  ReportRun r = load_report_run(run_dir);
  const fs::path a = fs::path(run_dir) / "artifacts";
  std::vector<std::string> written;
  auto put = [&](const std::string& name, const std::string& content) {
    write_file_atomic((a / name).string(), content);
    written.push_back((a / name).string());
  };
  for (const auto& [k, v] : r.metrics) {
    if (v.size() < 2) continue;
    std::string file = k;
    std::replace(file.begin(), file.end(), '/', '_');
    put("curve_" + file + ".svg", svg::line_chart(k, "step", k, {{r.label(), v}}));
  }
  if (r.confusion.is_object()) {
    auto labels = labels_of(r.confusion);
    auto m = matrix_of(r.confusion);
    fold_confusion(labels, m, 60);
    put("confusion_matrix.svg", svg::heatmap("confusion matrix (counts)", labels, m, false));
    put("confusion_matrix_normalized.svg", svg::heatmap("confusion matrix (row-normalised)", labels, m, true));
  }
  return written;
}

}  // namespace nlpc
