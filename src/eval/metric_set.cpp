#include "nlpc/eval/metric_set.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/eval/matrix.h"

namespace nlpc::eval {

void MetricSet::set(const std::string& name, double value) {
  for (auto& kv : items_) {
    if (kv.first == name) {
      kv.second = value;
      return;
    }
  }
  items_.emplace_back(name, value);
}

bool MetricSet::has(const std::string& name) const {
  return std::any_of(items_.begin(), items_.end(), [&](const auto& kv) { return kv.first == name; });
}

double MetricSet::get(const std::string& name) const {
  for (const auto& kv : items_) {
    if (kv.first == name) return kv.second;
  }
  std::string known;
  for (const auto& kv : items_) known += (known.empty() ? "" : ", ") + kv.first;
  throw UsageError("unknown metric '" + name + "'; available: " + known);
}

double MetricSet::get_or_nan(const std::string& name) const {
  for (const auto& kv : items_) {
    if (kv.first == name) return kv.second;
  }
  return std::nan("");
}

void MetricSet::merge(const MetricSet& other, const std::string& prefix) {
  for (const auto& kv : other.items_) set(prefix + kv.first, kv.second);
}

std::string MetricSet::to_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& kv : items_) {
    if (std::isfinite(kv.second)) {
      j[kv.first] = kv.second;
    } else {
      j[kv.first] = nullptr;
    }
  }
  return j.dump();
}

static std::string format_value(double v, int digits) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  }
  return buf;
}

std::string MetricSet::to_table(int digits) const {
  size_t width = 6;
  for (const auto& kv : items_) width = std::max(width, kv.first.size());
  std::ostringstream os;
  for (const auto& kv : items_) {
    os << kv.first << std::string(width - kv.first.size() + 2, ' ') << format_value(kv.second, digits)
       << "\n";
  }
  return os.str();
}

std::string format_intervals(const std::vector<MetricInterval>& rows, double ci, int digits) {
  size_t width = 6;
  for (const auto& r : rows) width = std::max(width, r.name.size());
  std::ostringstream os;
  char head[64];
  std::snprintf(head, sizeof head, "%.0f%% CI", ci * 100);
  os << "metric" << std::string(width - 6 + 2, ' ') << "value" << std::string(digits + 4 - 5, ' ')
     << head << "\n";
  for (const auto& r : rows) {
    std::string v = format_value(r.value, digits);
    os << r.name << std::string(width - r.name.size() + 2, ' ') << v
       << std::string(v.size() < size_t(digits + 4) ? digits + 4 - v.size() : 1, ' ') << "["
       << format_value(r.lower, digits) << ", " << format_value(r.upper, digits) << "]\n";
  }
  return os.str();
}

std::string format_metric_lines(const MetricSet& metrics, const std::vector<MetricInterval>& intervals,
                                bool aggregate_only) {
  std::map<std::string, const MetricInterval*> ci;
  for (const auto& iv : intervals) ci[iv.name] = &iv;
  std::string out;
  char buf[160];
  for (const auto& [name, v] : metrics.items()) {
    if (aggregate_only && name.find('/') != std::string::npos) continue;
    auto it = ci.find(name);
    if (it != ci.end() && std::isfinite(it->second->lower)) {
      std::snprintf(buf, sizeof(buf), "%-22s %.4f  [%.4f, %.4f]\n", name.c_str(), v, it->second->lower,
                    it->second->upper);
    } else {
      std::snprintf(buf, sizeof(buf), "%-22s %.4f\n", name.c_str(), v);
    }
    out += buf;
  }
  return out;
}

Matrix take_rows(const Matrix& m, const std::vector<int64_t>& idx) {
  Matrix out(int64_t(idx.size()), m.cols);
  for (size_t i = 0; i < idx.size(); ++i) {
    std::copy(m.row(idx[i]), m.row(idx[i]) + m.cols, out.row(int64_t(i)));
  }
  return out;
}

}  // namespace nlpc::eval
