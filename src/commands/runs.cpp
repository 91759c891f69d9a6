// `nlpc runs list | show | compare | export-mlflow` (see include/nlpc/commands/runs.h).
#include "nlpc/commands/runs.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/runs/run.h"
#include "nlpc/runs/store.h"

namespace nlpc::runs {
using nlohmann::json;

namespace {

using Table = std::vector<std::vector<std::string>>;

// Left-aligned columns separated by two spaces, no trailing spaces.
std::string render_table(const Table& rows, const std::string& indent = "") {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string format_time(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

std::string param_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

json value_json(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

std::string status_text(const RunRecord& r) {
  return r.process_gone() ? r.status() + " (process gone)" : r.status();
}

std::string duration_text(const RunRecord& r) {
  auto end = r.end_time();
  if (!end) return "-";
  return ProgressBar::format_duration(static_cast<double>(*end - r.start_time()) / 1000.0);
}

json summary_json(const MetricSummary& s) {
  return {{"final", value_json(s.final_value)}, {"final_step", s.final_step},
          {"best", value_json(s.best_value)},   {"best_step", s.best_step},
          {"count", s.count},                   {"lower_is_better", s.lower_is_better}};
}

json run_summary_json(const RunRecord& r) {
  json j = r.info;
  j["dir"] = r.dir;
  if (r.process_gone()) j["process_gone"] = true;
  json finals = json::object();
  for (const auto& s : r.metric_summaries()) finals[s.key] = value_json(s.final_value);
  j["final_metrics"] = finals;
  return j;
}

void check_format(const std::string& format, std::initializer_list<const char*> allowed) {
  std::string names;
  for (const char* a : allowed) {
    if (format == a) return;
    names += names.empty() ? a : std::string(", ") + a;
  }
  throw UsageError("unknown --format '" + format + "' (expected " + names + ")");
}

std::vector<RunRecord> load_many(const std::string& runs_dir, const std::vector<std::string>& ids) {
  std::vector<RunRecord> out;
  for (const auto& id : ids) out.push_back(load_run(find_run(runs_dir, id)));
  return out;
}

std::string short_label(const RunRecord& r) { return r.name() + " (" + r.id().substr(0, 8) + ")"; }

// The headline metric of each task (and of bench), shown as `runs list` columns when a listed run
// has it: test/<name>, else valid/<name>.
const char* const kMainMetrics[] = {"accuracy", "f1_macro", "f1_micro", "rougeL", "wer", "cer",
                                    "bench/latency_p50_ms"};
constexpr size_t kMaxMetricColumns = 3;

std::optional<double> main_metric(const std::map<std::string, double>& finals, const std::string& name) {
  for (const char* prefix : {"test/", "valid/", ""}) {
    auto it = finals.find(prefix + name);
    if (it != finals.end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace

std::string render_list(const ListOptions& opts) {
  check_format(opts.format, {"text", "json"});
  if (!opts.experiment.empty()) validate_experiment_name(opts.experiment);
  const std::string runs_dir = resolve_runs_dir(opts.runs_dir);
  const auto runs = filter_status(list_runs(runs_dir, opts.experiment), opts.status);
  if (opts.format == "json") {
    json arr = json::array();
    for (const auto& r : runs) arr.push_back(run_summary_json(r));
    return arr.dump(2) + "\n";
  }
  if (runs.empty()) return "";
  std::vector<std::map<std::string, double>> finals;
  for (const auto& r : runs) {
    finals.emplace_back();
    for (const auto& s : r.metric_summaries()) finals.back()[s.key] = s.final_value;
  }
  std::vector<std::string> metric_cols;
  for (const char* m : kMainMetrics) {
    const bool any = std::any_of(finals.begin(), finals.end(), [&](const auto& f) { return main_metric(f, m); });
    if (any && metric_cols.size() < kMaxMetricColumns) metric_cols.push_back(m);
  }
  Table rows{{"RUN_ID", "EXPERIMENT", "NAME", "STATUS", "START", "DURATION"}};
  for (const auto& m : metric_cols) rows[0].push_back(m.substr(m.find('/') + 1));
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    rows.push_back({r.id(), r.experiment(), r.name(), status_text(r), format_time(r.start_time()), duration_text(r)});
    for (const auto& m : metric_cols) {
      const auto v = main_metric(finals[i], m);
      rows.back().push_back(v ? format_value(*v) : "-");
    }
  }
  return render_table(rows);
}

std::string render_show(const ShowOptions& opts) {
  check_format(opts.format, {"text", "json"});
  const RunRecord r = load_run(find_run(resolve_runs_dir(opts.runs_dir), opts.run_id));
  const auto summaries = r.metric_summaries();
  if (opts.format == "json") {
    json metrics = json::object();
    for (const auto& s : summaries) metrics[s.key] = summary_json(s);
    json j = {{"run", r.info},          {"dir", r.dir},       {"params", r.params},
              {"tags", r.tags},         {"metrics", metrics}, {"artifacts", r.artifacts}};
    if (r.process_gone()) j["process_gone"] = true;
    return j.dump(2) + "\n";
  }
  Table info{{"run_id:", r.id()},
             {"name:", r.name()},
             {"experiment:", r.experiment()},
             {"status:", status_text(r)},
             {"start:", format_time(r.start_time())},
             {"end:", r.end_time() ? format_time(*r.end_time()) : std::string("-")},
             {"duration:", duration_text(r)}};
  for (const char* k : {"error", "signal", "command_line", "git_commit", "seed", "host", "user", "nlpc_version",
                        "libtorch_version"}) {
    if (r.info.contains(k) && !r.info[k].is_null()) info.push_back({std::string(k) + ":", param_text(r.info[k])});
  }
  info.push_back({"folder:", r.dir});
  std::string out = render_table(info);

  out += "\nparams (" + std::to_string(r.params.size()) + "):\n";
  Table params;
  for (auto it = r.params.begin(); it != r.params.end(); ++it) params.push_back({it.key(), param_text(it.value())});
  out += render_table(params, "  ");
  if (!r.tags.empty()) {
    out += "\ntags (" + std::to_string(r.tags.size()) + "):\n";
    Table tags;
    for (auto it = r.tags.begin(); it != r.tags.end(); ++it) tags.push_back({it.key(), param_text(it.value())});
    out += render_table(tags, "  ");
  }
  out += "\nmetrics (" + std::to_string(summaries.size()) + "; best = max, or min for loss-like keys):\n";
  if (!summaries.empty()) {
    Table m{{"KEY", "FINAL", "STEP", "BEST", "BEST_STEP", "POINTS"}};
    for (const auto& s : summaries) {
      m.push_back({s.key, format_value(s.final_value), std::to_string(s.final_step),
                   format_value(s.best_value) + (s.lower_is_better ? " (min)" : " (max)"), std::to_string(s.best_step),
                   std::to_string(s.count)});
    }
    out += render_table(m, "  ");
  }
  out += "\nartifacts (" + std::to_string(r.artifacts.size()) + "):\n";
  for (const auto& a : r.artifacts) out += "  " + a + "\n";
  return out;
}

std::string render_compare(const CompareOptions& opts) {
  check_format(opts.format, {"text", "json"});
  if (opts.run_ids.size() < 2) throw UsageError("runs compare needs at least two run ids");
  const auto runs = load_many(resolve_runs_dir(opts.runs_dir), opts.run_ids);

  // Params that differ (a param missing from a run counts as different).
  std::set<std::string> param_keys;
  for (const auto& r : runs) {
    for (auto it = r.params.begin(); it != r.params.end(); ++it) param_keys.insert(it.key());
  }
  std::map<std::string, std::vector<json>> differ;
  for (const auto& k : param_keys) {
    std::vector<json> vals;
    for (const auto& r : runs) vals.push_back(r.params.contains(k) ? r.params[k] : json());
    bool same = std::all_of(vals.begin(), vals.end(), [&](const json& v) { return v == vals.front(); });
    if (!same) differ[k] = vals;
  }

  // Metric summaries per run, restricted to --metric when given.
  std::vector<std::map<std::string, MetricSummary>> per_run;
  std::set<std::string> metric_keys;
  for (const auto& r : runs) {
    std::map<std::string, MetricSummary> m;
    for (const auto& s : r.metric_summaries()) {
      m[s.key] = s;
      metric_keys.insert(s.key);
    }
    per_run.push_back(std::move(m));
  }
  if (!opts.metrics.empty()) {
    for (const auto& k : opts.metrics) {
      if (!metric_keys.count(k)) {
        std::string have;
        for (const auto& h : metric_keys) have += (have.empty() ? "" : ", ") + h;
        throw UsageError("no run has metric '" + k + "' (metrics: " + (have.empty() ? "none" : have) + ")");
      }
    }
    metric_keys = std::set<std::string>(opts.metrics.begin(), opts.metrics.end());
  }

  if (opts.format == "json") {
    json j = {{"runs", json::array()}, {"params_differ", json::object()}, {"metrics", json::object()}};
    for (const auto& r : runs) {
      j["runs"].push_back({{"run_id", r.id()}, {"run_name", r.name()}, {"experiment", r.experiment()},
                           {"status", r.status()}});
    }
    for (const auto& [k, vals] : differ) j["params_differ"][k] = vals;
    for (const auto& k : metric_keys) {
      json arr = json::array();
      for (const auto& m : per_run) arr.push_back(m.count(k) ? summary_json(m.at(k)) : json());
      j["metrics"][k] = arr;
    }
    return j.dump(2) + "\n";
  }

  Table head{{"", "RUN_ID", "NAME", "EXPERIMENT", "STATUS"}};
  for (size_t i = 0; i < runs.size(); ++i) {
    head.push_back({"#" + std::to_string(i + 1), runs[i].id(), runs[i].name(), runs[i].experiment(), status_text(runs[i])});
  }
  std::string out = "runs:\n" + render_table(head, "  ");
  std::vector<std::string> cols{""};
  for (size_t i = 0; i < runs.size(); ++i) cols.push_back("#" + std::to_string(i + 1) + " " + runs[i].name());

  out += "\nparams that differ (" + std::to_string(differ.size()) + "):\n";
  if (!differ.empty()) {
    Table t{cols};
    t[0][0] = "PARAM";
    for (const auto& [k, vals] : differ) {
      std::vector<std::string> row{k};
      for (const auto& v : vals) row.push_back(v.is_null() ? "-" : param_text(v));
      t.push_back(row);
    }
    out += render_table(t, "  ");
  }
  out += "\nmetrics (final / best; best = max, or min for loss-like keys):\n";
  if (!metric_keys.empty()) {
    Table t{cols};
    t[0][0] = "METRIC";
    for (const auto& k : metric_keys) {
      std::vector<std::string> row{k + (lower_is_better(k) ? " (min)" : " (max)")};
      for (const auto& m : per_run) {
        auto it = m.find(k);
        row.push_back(it == m.end() ? "-"
                                    : format_value(it->second.final_value) + " / " + format_value(it->second.best_value));
      }
      t.push_back(row);
    }
    out += render_table(t, "  ");
  }
  return out;
}

int run_list(const ListOptions& opts) {
  const std::string out = render_list(opts);
  if (out.empty()) {
    spdlog::info("no runs in {}{}", resolve_runs_dir(opts.runs_dir),
                 opts.experiment.empty() ? "" : " (experiment " + opts.experiment + ")");
  }
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

int run_show(const ShowOptions& opts) {
  std::fputs(render_show(opts).c_str(), stdout);
  return kExitOk;
}

int run_compare(const CompareOptions& opts) {
  std::fputs(render_compare(opts).c_str(), stdout);
  return kExitOk;
}

int run_export_mlflow(const ExportMlflowOptions& opts) {
  ExportSummary s = export_mlflow(opts);
  std::printf("exported %d run%s of %d experiment%s to %s\n", s.runs, s.runs == 1 ? "" : "s", s.experiments,
              s.experiments == 1 ? "" : "s", opts.to.c_str());
  return kExitOk;
}

}  // namespace nlpc::runs
