#include "nlpc/eval/multilabel.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "nlpc/core/error.h"

namespace nlpc::eval {

namespace {

// Indicator matrix of the true sets: [n x L] bytes.
std::vector<char> indicator(const LabelSets& y_true, int64_t L) {
  std::vector<char> ind(y_true.size() * size_t(L), 0);
  for (size_t i = 0; i < y_true.size(); ++i) {
    for (int l : y_true[i]) {
      if (l < 0 || l >= L) {
        throw InputError("label id " + std::to_string(l) + " at row " + std::to_string(i + 1) +
                         " is outside 0.." + std::to_string(L - 1) +
                         "; every true label must be one of the model's labels");
      }
      ind[i * size_t(L) + size_t(l)] = 1;
    }
  }
  return ind;
}

double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }
double f1_of(double tp, double fp, double fn) { return ratio(2 * tp, 2 * tp + fp + fn); }

void check_inputs(const LabelSets& y_true, const Matrix& proba, const std::vector<float>& thr) {
  if (int64_t(y_true.size()) != proba.rows) {
    throw InputError("multi-label metrics: " + std::to_string(y_true.size()) + " label sets but " +
                     std::to_string(proba.rows) + " rows of probabilities");
  }
  if (proba.rows == 0) throw InputError("multi-label metrics: no rows to evaluate");
  if (thr.size() != 1 && int64_t(thr.size()) != proba.cols) {
    throw UsageError("multi-label metrics: expected 1 or " + std::to_string(proba.cols) +
                     " thresholds, got " + std::to_string(thr.size()));
  }
}

// Mean over rows of |top-k ∩ true| / k.
double precision_at(const std::vector<char>& ind, const Matrix& proba, int k) {
  int64_t L = proba.cols;
  std::vector<int> order(static_cast<size_t>(L));
  double total = 0;
  for (int64_t i = 0; i < proba.rows; ++i) {
    const float* r = proba.row(i);
    std::iota(order.begin(), order.end(), 0);
    int kk = int(std::min<int64_t>(k, L));
    std::partial_sort(order.begin(), order.begin() + kk, order.end(),
                      [&](int a, int b) { return r[a] > r[b] || (r[a] == r[b] && a < b); });
    int hits = 0;
    for (int j = 0; j < kk; ++j) hits += ind[size_t(i * L + order[size_t(j)])];
    total += double(hits) / double(k);
  }
  return total / double(proba.rows);
}

}  // namespace

MetricSet multilabel_metrics(const LabelSets& y_true, const Matrix& proba,
                             const std::vector<float>& thresholds,
                             const std::vector<std::string>& labels, const MultilabelOptions& opts) {
  check_inputs(y_true, proba, thresholds);
  int64_t n = proba.rows, L = proba.cols;
  auto ind = indicator(y_true, L);
  std::vector<double> tp(size_t(L), 0), fp(size_t(L), 0), fn(size_t(L), 0);
  int64_t exact = 0, wrong = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool row_ok = true;
    for (int64_t l = 0; l < L; ++l) {
      float t = thresholds.size() == 1 ? thresholds[0] : thresholds[size_t(l)];
      bool pred = proba.at(i, l) >= t;
      bool truth = ind[size_t(i * L + l)] != 0;
      if (pred && truth) tp[size_t(l)]++;
      if (pred && !truth) fp[size_t(l)]++;
      if (!pred && truth) fn[size_t(l)]++;
      if (pred != truth) {
        row_ok = false;
        ++wrong;
      }
    }
    exact += row_ok;
  }
  double TP = 0, FP = 0, FN = 0, pm = 0, rm = 0, fm = 0;
  for (int64_t l = 0; l < L; ++l) {
    TP += tp[size_t(l)];
    FP += fp[size_t(l)];
    FN += fn[size_t(l)];
    pm += ratio(tp[size_t(l)], tp[size_t(l)] + fp[size_t(l)]);
    rm += ratio(tp[size_t(l)], tp[size_t(l)] + fn[size_t(l)]);
    fm += f1_of(tp[size_t(l)], fp[size_t(l)], fn[size_t(l)]);
  }
  MetricSet m;
  m.set("f1_micro", f1_of(TP, FP, FN));
  m.set("f1_macro", fm / double(L));
  m.set("precision_micro", ratio(TP, TP + FP));
  m.set("recall_micro", ratio(TP, TP + FN));
  m.set("precision_macro", pm / double(L));
  m.set("recall_macro", rm / double(L));
  m.set("subset_accuracy", double(exact) / double(n));
  m.set("hamming_loss", double(wrong) / double(n * L));
  for (int k : opts.precision_at) {
    if (k < 1) throw UsageError("precision_at_k needs k >= 1, got " + std::to_string(k));
    m.set("precision_at_" + std::to_string(k), precision_at(ind, proba, k));
  }
  if (opts.per_label) {
    for (int64_t l = 0; l < L; ++l) {
      std::string name = labels.empty() ? std::to_string(l) : labels[size_t(l)];
      m.set("f1/" + name, f1_of(tp[size_t(l)], fp[size_t(l)], fn[size_t(l)]));
    }
  }
  return m;
}

static float best_threshold(const std::vector<std::pair<float, char>>& sorted_desc, double positives,
                            float default_threshold) {
  if (positives == 0) return default_threshold;
  size_t n = sorted_desc.size();
  double tp = 0, fp = 0, best_f1 = -1;
  float best = default_threshold;
  for (size_t i = 0; i < n; ++i) {
    if (sorted_desc[i].second) {
      tp++;
    } else {
      fp++;
    }
    if (i + 1 < n && sorted_desc[i + 1].first == sorted_desc[i].first) continue;  // not a cut point
    double f1 = f1_of(tp, fp, positives - tp);
    if (f1 > best_f1) {
      best_f1 = f1;
      float hi = sorted_desc[i].first;
      if (i + 1 < n) {
        float lo = sorted_desc[i + 1].first;
        float mid = float((double(hi) + double(lo)) / 2.0);
        best = mid > lo ? mid : hi;
      } else {
        best = hi;
      }
    }
  }
  return best;
}

std::vector<float> tune_thresholds(const LabelSets& y_true, const Matrix& proba, float default_threshold,
                                   int min_positives) {
  check_inputs(y_true, proba, {default_threshold});
  int64_t n = proba.rows, L = proba.cols;
  auto ind = indicator(y_true, L);
  std::vector<float> out(size_t(L), default_threshold);
  std::vector<std::pair<float, char>> col(static_cast<size_t>(n));
  for (int64_t l = 0; l < L; ++l) {
    double positives = 0;
    for (int64_t i = 0; i < n; ++i) {
      col[size_t(i)] = {proba.at(i, l), ind[size_t(i * L + l)]};
      positives += ind[size_t(i * L + l)];
    }
    if (positives < std::max(1, min_positives)) continue;  // keeps default_threshold
    std::sort(col.begin(), col.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    out[size_t(l)] = best_threshold(col, positives, default_threshold);
  }
  return out;
}

}  // namespace nlpc::eval
