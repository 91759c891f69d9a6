#include "nlpc/eval/gate.h"

#include <cmath>
#include <cstdio>

#include "nlpc/core/error.h"
#include "nlpc/core/strings.h"
#include "nlpc/runs/store.h"

namespace nlpc {
namespace {
std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  return buf;
}
bool compare(double a, const std::string& op, double b) {
  if (op == ">=") return a >= b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  if (op == "<") return a < b;
  return std::fabs(a - b) <= 1e-12;
}
}  // namespace

Gate parse_gate(const std::string& text) {
  static const char* ops[] = {">=", "<=", "==", ">", "<"};
  for (const char* op : ops) {
    size_t p = text.find(op);
    if (p == std::string::npos) continue;
    Gate g;
    g.metric = trim(text.substr(0, p), " \t");
    g.op = op;
    g.text = text;
    const std::string v = trim(text.substr(p + std::string(op).size()), " \t");
    size_t n = 0;
    try {
      g.value = std::stod(v, &n);
    } catch (const std::logic_error&) {
      n = 0;
    }
    if (g.metric.empty() || g.metric.find_first_of("<>=! \t") != std::string::npos || v.empty() ||
        n != v.size())
      break;
    return g;
  }
  throw UsageError("--gate '" + text + "': expected METRIC OP NUMBER with OP one of >= <= > < ==, e.g. "
                   "--gate \"accuracy>=0.80\"");
}

GateResult check_gates(const MetricMap& metrics, const std::vector<Gate>& gates) {
  GateResult r;
  for (const auto& g : gates) {
    auto it = metrics.find(g.metric);
    if (it == metrics.end()) {
      std::string names;
      for (const auto& [k, v] : metrics) names += (names.empty() ? "" : ", ") + k;
      throw UsageError("--gate '" + g.text + "': no metric '" + g.metric + "' (metrics: " + names + ")");
    }
    const bool ok = compare(it->second, g.op, g.value);
    std::string line = std::string(ok ? "PASS " : "FAIL ") + g.metric + " " + fmt(it->second) + " " + g.op +
                       " " + fmt(g.value);
    r.lines.push_back(line);
    if (!ok) {
      r.passed = false;
      r.failures.push_back(line);
    }
  }
  return r;
}

GateResult check_baseline(const MetricMap& metrics, const MetricMap& baseline, double max_drop,
                          const std::string& baseline_name) {
  if (max_drop < 0) throw UsageError("--max-drop must be >= 0");
  GateResult r;
  int common = 0;
  for (const auto& [name, base] : baseline) {
    auto it = metrics.find(name);
    if (it == metrics.end() || !std::isfinite(base) || !std::isfinite(it->second)) continue;
    ++common;
    const bool lower = runs::lower_is_better(name);  // losses and error rates may not rise
    const double change = it->second - base;
    const bool ok = lower ? change <= max_drop + 1e-12 : -change <= max_drop + 1e-12;
    std::string line = std::string(ok ? "PASS " : "FAIL ") + name + " " + fmt(it->second) + " vs baseline " +
                       fmt(base) + " (" + (change >= 0 ? "+" : "") + fmt(change) + ", allowed " +
                       (lower ? "rise" : "drop") + " " + fmt(max_drop) + ")";
    r.lines.push_back(line);
    if (!ok) {
      r.passed = false;
      r.failures.push_back(line);
    }
  }
  if (common == 0) {
    throw UsageError("--baseline " + baseline_name + ": no metric in common with this evaluation");
  }
  return r;
}

bool is_aggregate_metric(const std::string& name) { return name.find('/') == std::string::npos; }

}  // namespace nlpc
