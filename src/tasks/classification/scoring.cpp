#include "nlpc/tasks/classification/scoring.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/io/csv.h"
#include "nlpc/io/table.h"
#include "nlpc/tasks/classification/classifier.h"

namespace nlpc {
namespace {
std::string excerpt(const std::string& s, size_t n) {
  std::string out;
  for (char c : s) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (out.size() <= n) return out;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  return out.substr(0, cut) + "...";
}
}  // namespace

eval::Matrix predict_all(TextClassifier& clf, const std::vector<std::string>& texts,
                         const std::vector<std::string>* pairs, size_t batch_size, const std::string& what) {
  const size_t n = texts.size(), k = clf.labels().size();
  const size_t batch = batch_size > 0 ? batch_size : clf.default_batch_size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (clf.prefers_length_batching()) {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return texts[a].size() < texts[b].size(); });
  }
  eval::Matrix out(static_cast<int64_t>(n), static_cast<int64_t>(k));
  std::optional<ProgressBar> bar;
  if (!what.empty()) bar.emplace(what, static_cast<int64_t>(n), "texts");
  for (size_t s = 0; s < n; s += batch) {
    check_interrupted();
    const size_t e = std::min(n, s + batch);
    std::vector<std::string> bt, bp;
    for (size_t i = s; i < e; ++i) {
      bt.push_back(texts[order[i]]);
      if (pairs != nullptr && !pairs->empty()) bp.push_back((*pairs)[order[i]]);
    }
    eval::Matrix p = clf.predict_proba(bt, bp.empty() ? nullptr : &bp);
    for (size_t i = s; i < e; ++i) {
      std::copy(p.row(static_cast<int64_t>(i - s)), p.row(static_cast<int64_t>(i - s)) + k,
                out.row(static_cast<int64_t>(order[i])));
    }
    if (bar) bar->update(static_cast<int64_t>(e));
  }
  if (bar) bar->finish();
  return out;
}

EvalResult evaluate_classifier(TextClassifier& clf, const LabelledSet& data, const EvalSettings& settings) {
  EvalResult r;
  const auto& labels = clf.labels();
  r.proba = predict_all(clf, data.texts, data.pairs.empty() ? nullptr : &data.pairs, settings.batch_size, "eval");
  const int64_t n = static_cast<int64_t>(data.texts.size());
  eval::RowMetricFn fn;
  if (clf.multilabel()) {
    r.thresholds = clf.thresholds();
    if (r.thresholds.size() != labels.size()) r.thresholds.assign(labels.size(), 0.5f);
    r.metrics = eval::multilabel_metrics(data.label_sets, r.proba, r.thresholds, labels);
    fn = [&](const std::vector<int64_t>& rows) {
      eval::LabelSets ys;
      for (auto i : rows) ys.push_back(data.label_sets[static_cast<size_t>(i)]);
      return eval::multilabel_metrics(ys, eval::take_rows(r.proba, rows), r.thresholds, labels);
    };
  } else {
    r.metrics = eval::classification_metrics(data.labels, r.proba, labels);
    r.confusion = eval::confusion_matrix(data.labels, eval::argmax_rows(r.proba), static_cast<int>(labels.size()));
    r.per_class = eval::per_class_scores(r.confusion);
    eval::ClassificationOptions o;
    o.per_class = false;
    fn = [&, o](const std::vector<int64_t>& rows) {
      std::vector<int> ys;
      for (auto i : rows) ys.push_back(data.labels[static_cast<size_t>(i)]);
      return eval::classification_metrics(ys, eval::take_rows(r.proba, rows), labels, o);
    };
  }
  if (settings.bootstrap > 0) {
    eval::BootstrapOptions bo;
    bo.resamples = settings.bootstrap;
    bo.ci = settings.ci;
    bo.seed = settings.seed;
    r.intervals = eval::bootstrap(n, fn, bo);
  }
  return r;
}

void write_eval_artifacts(const std::string& dir, const EvalResult& r, const LabelledSet& data,
                          const std::vector<std::string>& labels, const EvalSettings& settings) {
  using nlohmann::json;
  json label_map = json::object();
  for (size_t i = 0; i < labels.size(); ++i) label_map[std::to_string(i)] = labels[i];
  write_file_atomic(dir + "/label_map.json", json{{"id2label", label_map}}.dump(2) + "\n");
  write_file_atomic(dir + "/metrics.json", r.metrics.to_json() + "\n");
  if (!r.confusion.empty()) {
    write_file_atomic(dir + "/confusion_matrix.csv", eval::confusion_matrix_csv(r.confusion, labels));
    write_file_atomic(dir + "/confusion_matrix.json", eval::confusion_matrix_json(r.confusion, labels) + "\n");
    json rep{{"labels", labels}, {"precision", r.per_class.precision}, {"recall", r.per_class.recall},
             {"f1", r.per_class.f1}, {"support", r.per_class.support}};
    write_file_atomic(dir + "/classification_report.json", rep.dump() + "\n");
  }
  if (!r.intervals.empty()) {
    json m = json::object();
    for (const auto& iv : r.intervals) {
      if (!is_aggregate_metric(iv.name)) continue;
      auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
      m[iv.name] = {{"value", num(iv.value)}, {"low", num(iv.lower)}, {"high", num(iv.upper)},
                    {"resamples", iv.resamples}};
    }
    write_file_atomic(dir + "/bootstrap.json",
                      json{{"ci", settings.ci}, {"n", settings.bootstrap}, {"seed", settings.seed}, {"metrics", m}}
                              .dump(2) + "\n");
  }
  if (settings.errors > 0 && !r.confusion.empty()) {
    // The N most confident mistakes per true class.
    std::vector<std::vector<std::pair<float, size_t>>> by_class(labels.size());
    for (size_t i = 0; i < data.labels.size(); ++i) {
      const float* p = r.proba.row(static_cast<int64_t>(i));
      const int pred = static_cast<int>(std::max_element(p, p + labels.size()) - p);
      if (pred != data.labels[i]) by_class[static_cast<size_t>(data.labels[i])].emplace_back(p[pred], i);
    }
    io::CsvWriter w(dir + "/errors.csv");
    w.write_row({"true_label", "predicted_label", "confidence", "p_true", "line", "text"});
    for (size_t c = 0; c < labels.size(); ++c) {
      auto& v = by_class[c];
      std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first > b.first; });
      for (size_t j = 0; j < v.size() && static_cast<int64_t>(j) < settings.errors; ++j) {
        const size_t i = v[j].second;
        const float* p = r.proba.row(static_cast<int64_t>(i));
        const int pred = static_cast<int>(std::max_element(p, p + labels.size()) - p);
        char conf[32], pt[32];
        std::snprintf(conf, sizeof(conf), "%.4f", static_cast<double>(v[j].first));
        std::snprintf(pt, sizeof(pt), "%.4f", static_cast<double>(p[data.labels[i]]));
        w.write_row({labels[c], labels[static_cast<size_t>(pred)], conf, pt, std::to_string(data.lines[i]),
                     excerpt(data.texts[i], 300)});
      }
    }
    w.commit();
  }
}

std::string format_metrics_table(const EvalResult& r) {
  return eval::format_metric_lines(r.metrics, r.intervals, /*aggregate_only=*/true);
}

}  // namespace nlpc
