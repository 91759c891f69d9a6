// Export to MLflow's file store (see include/nlpc/runs/mlflow_export.h for the layout). The formats
// follow mlflow/store/tracking/file_store.py: meta.yaml written by PyYAML's safe_dump with sorted
// keys, params/tags as bare values without a trailing newline, metric lines "<ts> <value> <step>".
#include "nlpc/runs/mlflow_export.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/system.h"
#include "nlpc/runs/run.h"
#include "nlpc/runs/store.h"

namespace nlpc::runs {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kDefaultExperimentId = "0";
constexpr const char* kDefaultExperimentName = "Default";

// One "key: value" line per entry, keys already in sorted order (as safe_dump sorts them).
using YamlEntries = std::vector<std::pair<std::string, std::string>>;

std::string yaml_document(const YamlEntries& entries) {
  std::string out;
  for (const auto& [k, v] : entries) out += k + ": " + v + "\n";
  return out;
}

// PyYAML's implicit resolvers for plain scalars: a string that one of them would read as
// something else must be quoted.
bool resolves_to_non_string(const std::string& s) {
  static const std::regex kBool("^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$");
  static const std::regex kNull("^(?:~|null|Null|NULL|)$");
  static const std::regex kInt(
      "^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|"
      "[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$");
  static const std::regex kFloat(
      "^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9_]+(?:[eE][-+][0-9]+)?|"
      "[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$");
  static const std::regex kTimestamp(
      "^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
      "(?:[Tt]|[ \\t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\\.[0-9]*)?(?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$");
  return s == "<<" || s == "=" || std::regex_match(s, kBool) || std::regex_match(s, kNull) ||
         std::regex_match(s, kInt) || std::regex_match(s, kFloat) || std::regex_match(s, kTimestamp);
}

bool needs_double_quotes(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;  // line breaks, tabs, control characters
  }
  return false;
}

bool plain_allowed(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return false;
  static const std::string kLeading = "#,[]{}&*!|>'\"%@`";
  if (kLeading.find(s.front()) != std::string::npos) return false;
  if ((s.front() == '-' || s.front() == '?' || s.front() == ':') && (s.size() == 1 || s[1] == ' ')) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ':' && (i + 1 == s.size() || s[i + 1] == ' ')) return false;
    if (s[i] == '#' && i > 0 && s[i - 1] == ' ') return false;
  }
  return !resolves_to_non_string(s);
}

// Splits "a/b/c" into a path below `root` (MLflow stores keys with '/' as nested files).
fs::path key_path(const fs::path& root, const std::string& key) {
  fs::path p = root;
  size_t start = 0;
  while (true) {
    size_t end = key.find('/', start);
    p /= key.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (end == std::string::npos) return p;
    start = end + 1;
  }
}

// Reads "name:" from an MLflow meta.yaml written by PyYAML (plain, '...' or "..." scalars).
std::string read_yaml_name(const std::string& meta_path) {
  std::istringstream in(read_file(meta_path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("name: ", 0) != 0) continue;
    std::string v = line.substr(6);
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
      std::string out;
      for (size_t i = 1; i + 1 < v.size(); ++i) {
        out += v[i];
        if (v[i] == '\'' && v[i + 1] == '\'') ++i;
      }
      return out;
    }
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      try {
        return json::parse(v).get<std::string>();
      } catch (const json::exception&) {
        return v.substr(1, v.size() - 2);
      }
    }
    return v;
  }
  return "";
}

// Experiment name -> id for the experiments already in DIR.
std::map<std::string, std::string> existing_experiments(const fs::path& root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string id = e.path().filename().string();
    if (!e.is_directory(ec) || id == ".trash" || id == "models") continue;
    const fs::path meta = e.path() / "meta.yaml";
    if (!fs::is_regular_file(meta, ec)) continue;
    std::string name = read_yaml_name(meta.string());
    if (!name.empty()) out.emplace(name, id);
  }
  return out;
}

void write_experiment_meta(const fs::path& root, const std::string& id, const std::string& name) {
  const fs::path dir = root / id;
  fs::create_directories(dir);
  const std::string now = std::to_string(now_ms());
  write_file_atomic((dir / "meta.yaml").string(),
                    yaml_document({{"artifact_location", yaml_string(file_uri((root / id).string()))},
                                   {"creation_time", now},
                                   {"experiment_id", yaml_string(id)},
                                   {"last_update_time", now},
                                   {"lifecycle_stage", "active"},
                                   {"name", yaml_string(name)}}));
}

// Writes a file of a run folder being exported. Plain writes (no per-file fsync): the run folder is
// the unit that becomes visible, when its meta.yaml is committed atomically after everything else.
void write_run_file(const fs::path& path, const std::string& content) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(content.data(), 1, content.size(), f) == content.size();
  if (f != nullptr && std::fclose(f) != 0) ok = false;
  if (!ok) throw RuntimeError("cannot write " + path.string() + ": " + std::strerror(errno));
}

std::string json_string_or_dump(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string first_word(const std::string& s) {
  if (!s.empty() && s.front() == '\'') {
    size_t end = s.find('\'', 1);
    return s.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  }
  return s.substr(0, s.find(' '));
}

// Tags an MLflow run gets (mlflow.*), plus nlpc's own facts (nlpc.*) and the user's tags.
std::map<std::string, std::string> run_tags(const RunRecord& r) {
  std::map<std::string, std::string> tags;
  for (auto it = r.tags.begin(); it != r.tags.end(); ++it) tags[it.key()] = json_string_or_dump(it.value());
  const json& info = r.info;
  const std::string cmd = info.value("command_line", std::string());
  tags["mlflow.runName"] = r.name();
  tags["mlflow.user"] = info.value("user", std::string());
  tags["mlflow.source.name"] = first_word(cmd);
  tags["mlflow.source.type"] = "LOCAL";
  if (info.contains("git_commit") && info["git_commit"].is_string()) {
    tags["mlflow.source.git.commit"] = info["git_commit"].get<std::string>();
  }
  tags["nlpc.command_line"] = cmd;
  tags["nlpc.experiment"] = r.experiment();
  for (const char* k : {"host", "nlpc_version", "libtorch_version", "error", "signal"}) {
    if (info.contains(k) && info[k].is_string()) tags[std::string("nlpc.") + k] = info[k].get<std::string>();
  }
  if (info.contains("seed") && info["seed"].is_number_integer()) tags["nlpc.seed"] = info["seed"].dump();
  return tags;
}

void export_run(const RunRecord& r, const fs::path& root, const std::string& exp_id) {
  const std::string run_id = r.id();
  const fs::path dir = root / exp_id / run_id;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "metrics");
  fs::create_directories(dir / "params");
  fs::create_directories(dir / "artifacts");
  fs::create_directories(dir / "tags");

  for (auto it = r.params.begin(); it != r.params.end(); ++it) {
    validate_key("param", it.key());
    write_run_file(key_path(dir / "params", it.key()), mlflow_param_value(it.value()));
  }
  std::map<std::string, std::string> metric_lines;
  for (const auto& p : r.metrics) {
    metric_lines[p.key] += std::to_string(p.timestamp) + " " + python_float_repr(p.value) + " " +
                           std::to_string(p.step) + "\n";
  }
  for (const auto& [key, text] : metric_lines) {
    validate_key("metric", key);
    write_run_file(key_path(dir / "metrics", key), text);
  }
  for (const auto& [key, value] : run_tags(r)) {
    validate_key("tag", key);
    write_run_file(key_path(dir / "tags", key), value);
  }
  const fs::path src_artifacts = fs::path(r.dir) / "artifacts";
  if (fs::is_directory(src_artifacts, ec)) {
    fs::copy(src_artifacts, dir / "artifacts", fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    if (ec) throw RuntimeError("cannot copy artifacts of run " + run_id + " to " + (dir / "artifacts").string() + ": " + ec.message());
  }

  const RunStatus status = parse_status(r.status());
  auto end = r.end_time();
  // meta.yaml last: until it exists MLflow does not list the run, so a half-written export is not shown.
  write_file_atomic((dir / "meta.yaml").string(),
                    yaml_document({{"artifact_uri", yaml_string(file_uri((dir / "artifacts").string()))},
                                   {"end_time", end ? std::to_string(*end) : std::string("null")},
                                   {"entry_point_name", "''"},
                                   {"experiment_id", yaml_string(exp_id)},
                                   {"lifecycle_stage", "active"},
                                   {"run_id", yaml_string(run_id)},
                                   {"run_name", yaml_string(r.name())},
                                   {"run_uuid", yaml_string(run_id)},
                                   {"source_name", "''"},
                                   {"source_type", "4"},
                                   {"source_version", "''"},
                                   {"start_time", std::to_string(r.start_time())},
                                   {"status", std::to_string(mlflow_status_code(status))},
                                   {"tags", "[]"},
                                   {"user_id", yaml_string(r.info.value("user", std::string()))}}));
}

}  // namespace

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. "-1.25e-05", shortest round-trip digits
  std::string sign;
  if (sci.front() == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp10 = std::stoi(sci.substr(e + 1));
  const int decpt = exp10 + 1;  // position of the decimal point relative to the digits
  const int n = static_cast<int>(digits.size());
  std::string out;
  if (decpt <= -4 || decpt > 16) {
    out = digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    char exp_buf[8];
    std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    out += exp_buf;
  } else if (decpt <= 0) {
    out = "0." + std::string(-decpt, '0') + digits;
  } else if (decpt < n) {
    out = digits.substr(0, decpt) + "." + digits.substr(decpt);
  } else {
    out = digits + std::string(decpt - n, '0') + ".0";
  }
  return sign + out;
}

std::string mlflow_param_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) return python_float_repr(v.get<double>());
  return v.dump();
}

std::string yaml_string(const std::string& s) {
  if (needs_double_quotes(s)) return json(s).dump();  // JSON escapes are valid YAML double-quoted escapes
  if (plain_allowed(s)) return s;
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string file_uri(const std::string& abs_path) {
  static const char* hex = "0123456789ABCDEF";
  std::string out = "file://";
  for (unsigned char c : abs_path) {
    if (std::isalnum(c) || c == '/' || c == '_' || c == '.' || c == '-' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string stable_experiment_id(const std::string& name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (unsigned char c : "nlpc:" + name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // 18 digits without a leading zero, like MLflow's generated experiment ids.
  return std::to_string(100000000000000000ULL + h % 900000000000000000ULL);
}

ExportSummary export_mlflow(const ExportMlflowOptions& opts) {
  if (opts.to.empty()) throw UsageError("export-mlflow needs --to DIR (the MLflow file store to write)");
  const std::string runs_dir = resolve_runs_dir(opts.runs_dir);
  if (!fs::is_directory(runs_dir)) {
    throw UsageError("no runs folder '" + runs_dir + "' (set it with --runs-dir or NLPC_RUNS_DIR)");
  }
  if (!opts.experiment.empty()) validate_experiment_name(opts.experiment);
  const std::vector<RunRecord> runs = list_runs(runs_dir, opts.experiment);
  if (!opts.experiment.empty() && runs.empty()) {
    throw UsageError("no runs in experiment '" + opts.experiment + "' under " + runs_dir);
  }

  const fs::path root = fs::absolute(opts.to).lexically_normal();
  const fs::path clean_root = root.has_filename() ? root : root.parent_path();
  std::error_code ec;
  fs::create_directories(clean_root / ".trash", ec);
  if (ec) throw RuntimeError("cannot create " + (clean_root / ".trash").string() + ": " + ec.message());

  std::map<std::string, std::string> ids = existing_experiments(clean_root);
  if (!ids.count(kDefaultExperimentName) && !fs::exists(clean_root / kDefaultExperimentId)) {
    write_experiment_meta(clean_root, kDefaultExperimentId, kDefaultExperimentName);
    ids[kDefaultExperimentName] = kDefaultExperimentId;
  }

  ExportSummary summary;
  std::map<std::string, std::string> exported;  // nlpc experiment -> MLflow id
  for (const RunRecord& r : runs) {
    const std::string exp = r.experiment();
    auto done = exported.find(exp);
    std::string exp_id;
    if (done != exported.end()) {
      exp_id = done->second;
    } else {
      const std::string mlflow_name = exp == "default" ? kDefaultExperimentName : exp;
      auto found = ids.find(mlflow_name);
      if (found != ids.end()) {
        exp_id = found->second;
      } else {
        exp_id = stable_experiment_id(mlflow_name);
        while (fs::exists(clean_root / exp_id)) exp_id = std::to_string(std::stoull(exp_id) + 1);
        write_experiment_meta(clean_root, exp_id, mlflow_name);
        ids[mlflow_name] = exp_id;
      }
      exported[exp] = exp_id;
      ++summary.experiments;
    }
    export_run(r, clean_root, exp_id);
    ++summary.runs;
  }
  return summary;
}

}  // namespace nlpc::runs
