// Reading run folders back (see include/nlpc/runs/store.h).
#include "nlpc/runs/store.h"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/system.h"

namespace nlpc::runs {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json_file(const std::string& path, bool required) {
  if (!file_exists(path)) {
    if (required) throw InputError(path, 0, 0, "missing: this folder is not an nlpc run");
    return json::object();
  }
  try {
    json j = json::parse(read_file(path));
    if (!j.is_object()) throw InputError(path, 1, 1, "expected a JSON object");
    return j;
  } catch (const json::exception& e) {
    throw InputError(path, 0, 0, std::string("malformed JSON: ") + e.what());
  }
}

double parse_metric_value(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  throw std::invalid_argument("\"value\" must be a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
}

MetricPoint parse_metric_line(const std::string& line) {
  json j = json::parse(line);
  if (!j.is_object()) throw std::invalid_argument("expected a JSON object");
  for (const char* k : {"key", "value", "step", "timestamp"}) {
    if (!j.contains(k)) throw std::invalid_argument(std::string("missing \"") + k + "\"");
  }
  MetricPoint p;
  p.key = j.at("key").get<std::string>();
  p.value = parse_metric_value(j.at("value"));
  p.step = j.at("step").get<int64_t>();
  p.timestamp = j.at("timestamp").get<int64_t>();
  return p;
}

std::vector<std::string> list_artifacts(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(fs::relative(it->path(), dir, ec).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

bool lower_is_better(const std::string& key) {
  static const std::set<std::string> kLower = {"loss", "nll", "error", "err", "wer", "cer",
                                               "perplexity", "ppl", "mse", "mae", "rmse"};
  std::string word;
  for (size_t i = 0; i <= key.size(); ++i) {
    char c = i < key.size() ? key[i] : '/';
    if (c == '/' || c == '.' || c == '_' || c == '-' || c == ' ' || c == ':') {
      if (kLower.count(word)) return true;
      word.clear();
    } else {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return false;
}

std::vector<MetricPoint> read_metrics(const std::string& path) {
  std::vector<MetricPoint> out;
  if (!file_exists(path)) return out;
  const std::string text = read_file(path);
  size_t start = 0;
  int64_t line_no = 0;
  while (start < text.size()) {
    ++line_no;
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      // Only a hard kill in the middle of a write leaves a line without its newline.
      spdlog::warn("{}:{}: ignoring an incomplete last line", path, line_no);
      break;
    }
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    try {
      out.push_back(parse_metric_line(line));
    } catch (const std::exception& e) {
      throw InputError(path, line_no, 0,
                       std::string("malformed metric line (expected {\"key\",\"value\",\"step\",\"timestamp\"}): ") +
                           e.what());
    }
  }
  return out;
}

std::vector<MetricSummary> summarize_metrics(const std::vector<MetricPoint>& points) {
  std::map<std::string, MetricSummary> by_key;
  std::map<std::string, int64_t> final_ts;
  for (const auto& p : points) {
    auto [it, fresh] = by_key.try_emplace(p.key);
    MetricSummary& s = it->second;
    if (fresh) {
      s.key = p.key;
      s.lower_is_better = lower_is_better(p.key);
      s.final_value = s.best_value = p.value;
      s.final_step = s.best_step = p.step;
      final_ts[p.key] = p.timestamp;
    } else {
      // Final: largest step, then latest timestamp, then the later line (MLflow's "latest").
      if (p.step > s.final_step || (p.step == s.final_step && p.timestamp >= final_ts[p.key])) {
        s.final_value = p.value;
        s.final_step = p.step;
        final_ts[p.key] = p.timestamp;
      }
      bool better = s.lower_is_better ? p.value < s.best_value : p.value > s.best_value;
      if (std::isnan(s.best_value) && !std::isnan(p.value)) better = true;
      if (better) {
        s.best_value = p.value;
        s.best_step = p.step;
      }
    }
    ++s.count;
  }
  std::vector<MetricSummary> out;
  for (auto& [k, s] : by_key) out.push_back(s);
  return out;
}

std::string RunRecord::id() const { return info.value("run_id", std::string()); }
std::string RunRecord::name() const { return info.value("run_name", std::string()); }
std::string RunRecord::experiment() const { return info.value("experiment", std::string()); }
std::string RunRecord::status() const { return info.value("status", std::string("RUNNING")); }
int64_t RunRecord::start_time() const {
  auto it = info.find("start_time");
  return it != info.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}
std::optional<int64_t> RunRecord::end_time() const {
  auto it = info.find("end_time");
  if (it == info.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}
std::vector<MetricSummary> RunRecord::metric_summaries() const { return summarize_metrics(metrics); }

bool RunRecord::process_gone() const {
  if (status() != "RUNNING") return false;
  auto pid = info.find("pid");
  if (pid == info.end() || !pid->is_number_integer() || info.value("host", std::string()) != host_name()) {
    return false;
  }
  return ::kill(static_cast<pid_t>(pid->get<int64_t>()), 0) != 0 && errno == ESRCH;
}

RunRecord load_run(const std::string& run_dir) {
  const fs::path dir(run_dir);
  RunRecord r;
  r.dir = run_dir;
  r.info = read_json_file((dir / "run.json").string(), true);
  if (!r.info.contains("run_id") || !r.info["run_id"].is_string()) {
    throw InputError((dir / "run.json").string(), 0, 0, "not an nlpc run record (no \"run_id\")");
  }
  r.params = read_json_file((dir / "params.json").string(), false);
  r.tags = read_json_file((dir / "tags.json").string(), false);
  r.metrics = read_metrics((dir / "metrics.jsonl").string());
  r.artifacts = list_artifacts(dir / "artifacts");
  return r;
}

std::vector<RunRecord> list_runs(const std::string& runs_dir, const std::string& experiment) {
  std::vector<RunRecord> out;
  std::error_code ec;
  if (!fs::is_directory(runs_dir, ec)) return out;
  std::vector<fs::path> exp_dirs;
  if (!experiment.empty()) {
    if (fs::is_directory(fs::path(runs_dir) / experiment, ec)) exp_dirs.push_back(fs::path(runs_dir) / experiment);
  } else {
    for (const auto& e : fs::directory_iterator(runs_dir, ec)) {
      if (e.is_directory(ec)) exp_dirs.push_back(e.path());
    }
  }
  for (const auto& exp : exp_dirs) {
    for (const auto& e : fs::directory_iterator(exp, ec)) {
      if (!e.is_directory(ec) || !file_exists((e.path() / "run.json").string())) continue;
      try {
        out.push_back(load_run(e.path().string()));
      } catch (const Error& err) {
        spdlog::warn("skipping {}: {}", e.path().string(), err.what());
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const RunRecord& a, const RunRecord& b) {
    if (a.start_time() != b.start_time()) return a.start_time() > b.start_time();
    return a.id() < b.id();
  });
  return out;
}

std::string find_run(const std::string& runs_dir, const std::string& id_prefix) {
  if (id_prefix.empty()) throw UsageError("empty run id: give a run id or a unique prefix of one");
  std::error_code ec;
  if (!fs::is_directory(runs_dir, ec)) {
    throw UsageError("no runs folder '" + runs_dir + "' (set it with --runs-dir or NLPC_RUNS_DIR)");
  }
  std::vector<fs::path> matches;
  for (const auto& exp : fs::directory_iterator(runs_dir, ec)) {
    if (!exp.is_directory(ec)) continue;
    for (const auto& e : fs::directory_iterator(exp.path(), ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_directory(ec) && name.compare(0, id_prefix.size(), id_prefix) == 0 &&
          file_exists((e.path() / "run.json").string())) {
        if (name == id_prefix) return e.path().string();  // a full id always wins
        matches.push_back(e.path());
      }
    }
  }
  if (matches.empty()) {
    throw UsageError("no run with an id starting with '" + id_prefix + "' in " + runs_dir +
                     " (see `nlpc runs list`)");
  }
  if (matches.size() > 1) {
    std::string names;
    std::sort(matches.begin(), matches.end());
    for (const auto& m : matches) names += "\n  " + m.parent_path().filename().string() + "/" + m.filename().string();
    throw UsageError("run id prefix '" + id_prefix + "' is ambiguous; it matches " +
                     std::to_string(matches.size()) + " runs (give more characters):" + names);
  }
  return matches.front().string();
}

}  // namespace nlpc::runs
