#include "nlpc/eval/classification.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"

namespace nlpc::eval {

std::vector<int> argmax_rows(const Matrix& proba) {
  std::vector<int> out(static_cast<size_t>(proba.rows), 0);
  for (int64_t i = 0; i < proba.rows; ++i) {
    const float* r = proba.row(i);
    int best = 0;
    for (int64_t j = 1; j < proba.cols; ++j) {
      if (r[j] > r[best]) best = int(j);
    }
    out[size_t(i)] = best;
  }
  return out;
}

static void check_label(int y, int k, size_t row) {
  if (y < 0 || y >= k) {
    throw InputError("label id " + std::to_string(y) + " at row " + std::to_string(row + 1) +
                     " is outside 0.." + std::to_string(k - 1) +
                     "; every true label must be one of the model's classes");
  }
}

ConfusionMatrix confusion_matrix(const std::vector<int>& y_true, const std::vector<int>& y_pred, int k) {
  if (y_true.size() != y_pred.size()) {
    throw InputError("confusion matrix: " + std::to_string(y_true.size()) + " true labels but " +
                     std::to_string(y_pred.size()) + " predictions");
  }
  ConfusionMatrix cm(size_t(k), std::vector<int64_t>(size_t(k), 0));
  for (size_t i = 0; i < y_true.size(); ++i) {
    check_label(y_true[i], k, i);
    check_label(y_pred[i], k, i);
    cm[size_t(y_true[i])][size_t(y_pred[i])]++;
  }
  return cm;
}

static double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }
static double f1_of(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

PerClass per_class_scores(const ConfusionMatrix& cm) {
  size_t k = cm.size();
  PerClass pc;
  pc.precision.assign(k, 0);
  pc.recall.assign(k, 0);
  pc.f1.assign(k, 0);
  pc.support.assign(k, 0);
  pc.predicted.assign(k, 0);
  for (size_t t = 0; t < k; ++t) {
    for (size_t p = 0; p < k; ++p) {
      pc.support[t] += cm[t][p];
      pc.predicted[p] += cm[t][p];
    }
  }
  for (size_t c = 0; c < k; ++c) {
    double tp = double(cm[c][c]);
    pc.precision[c] = ratio(tp, double(pc.predicted[c]));
    pc.recall[c] = ratio(tp, double(pc.support[c]));
    pc.f1[c] = f1_of(pc.precision[c], pc.recall[c]);
  }
  return pc;
}

double roc_auc_binary(const std::vector<char>& positive, const std::vector<float>& score) {
  size_t n = score.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  // Mann-Whitney U with mid-ranks for ties: equals the trapezoidal area under the ROC curve.
  double rank_sum = 0;
  double npos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && score[order[j]] == score[order[i]]) ++j;
    double mid_rank = (double(i + 1) + double(j)) / 2.0;  // 1-based ranks i+1..j
    for (size_t t = i; t < j; ++t) {
      if (positive[order[t]]) {
        rank_sum += mid_rank;
        npos += 1;
      }
    }
    i = j;
  }
  double nneg = double(n) - npos;
  if (npos == 0 || nneg == 0) return std::nan("");
  return (rank_sum - npos * (npos + 1) / 2.0) / (npos * nneg);
}

double log_loss(const std::vector<int>& y_true, const Matrix& proba, double eps) {
  double total = 0;
  for (int64_t i = 0; i < proba.rows; ++i) {
    const float* r = proba.row(i);
    double sum = 0;
    for (int64_t j = 0; j < proba.cols; ++j) sum += std::clamp(double(r[j]), eps, 1 - eps);
    double p = std::clamp(double(r[y_true[size_t(i)]]), eps, 1 - eps) / sum;
    total -= std::log(p);
  }
  return proba.rows > 0 ? total / double(proba.rows) : std::nan("");
}

static void check_inputs(const std::vector<int>& y_true, const Matrix& proba,
                         const std::vector<std::string>& labels) {
  if (int64_t(y_true.size()) != proba.rows) {
    throw InputError("metrics: " + std::to_string(y_true.size()) + " true labels but " +
                     std::to_string(proba.rows) + " rows of probabilities");
  }
  if (!labels.empty() && int64_t(labels.size()) != proba.cols) {
    throw InputError("metrics: " + std::to_string(labels.size()) + " label names but " +
                     std::to_string(proba.cols) + " probability columns");
  }
  if (proba.rows == 0) throw InputError("metrics: no rows to evaluate");
  for (size_t i = 0; i < y_true.size(); ++i) check_label(y_true[i], int(proba.cols), i);
}

static void add_averages(MetricSet& m, const PerClass& pc, int64_t n, double accuracy) {
  double pm = 0, rm = 0, fm = 0, pw = 0, rw = 0, fw = 0;
  int used = 0;
  for (size_t c = 0; c < pc.f1.size(); ++c) {
    if (pc.support[c] == 0 && pc.predicted[c] == 0) continue;  // scikit-learn's default labels
    ++used;
    pm += pc.precision[c];
    rm += pc.recall[c];
    fm += pc.f1[c];
    double w = double(pc.support[c]) / double(n);
    pw += w * pc.precision[c];
    rw += w * pc.recall[c];
    fw += w * pc.f1[c];
  }
  m.set("precision_macro", pm / used);
  m.set("recall_macro", rm / used);
  m.set("f1_macro", fm / used);
  m.set("precision_micro", accuracy);
  m.set("recall_micro", accuracy);
  m.set("f1_micro", accuracy);
  m.set("precision_weighted", pw);
  m.set("recall_weighted", rw);
  m.set("f1_weighted", fw);
}

static void add_roc_auc(MetricSet& m, const std::vector<int>& y_true, const Matrix& proba) {
  double sum = 0;
  int used = 0;
  std::vector<char> pos(y_true.size());
  std::vector<float> score(y_true.size());
  for (int64_t c = 0; c < proba.cols; ++c) {
    for (size_t i = 0; i < y_true.size(); ++i) {
      pos[i] = y_true[i] == c;
      score[i] = proba.at(int64_t(i), c);
    }
    double auc = roc_auc_binary(pos, score);
    if (std::isnan(auc)) continue;
    sum += auc;
    ++used;
  }
  m.set("roc_auc_ovr_macro", used > 0 ? sum / used : std::nan(""));
  // a count, not a score: a detail of roc_auc_ovr_macro ('/' keeps it out of aggregates and intervals)
  m.set("roc_auc_ovr_macro/classes", used);
}

MetricSet classification_metrics(const std::vector<int>& y_true, const Matrix& proba,
                                 const std::vector<std::string>& labels,
                                 const ClassificationOptions& opts) {
  check_inputs(y_true, proba, labels);
  int k = int(proba.cols);
  auto y_pred = argmax_rows(proba);
  auto cm = confusion_matrix(y_true, y_pred, k);
  auto pc = per_class_scores(cm);
  int64_t n = int64_t(y_true.size());
  int64_t correct = 0;
  for (int c = 0; c < k; ++c) correct += cm[size_t(c)][size_t(c)];
  double accuracy = double(correct) / double(n);

  MetricSet m;
  m.set("accuracy", accuracy);
  add_averages(m, pc, n, accuracy);
  if (opts.roc_auc) add_roc_auc(m, y_true, proba);
  if (opts.log_loss) m.set("log_loss", log_loss(y_true, proba, opts.log_loss_eps));
  if (opts.per_class) {
    for (int c = 0; c < k; ++c) {
      std::string name = labels.empty() ? std::to_string(c) : labels[size_t(c)];
      m.set("precision/" + name, pc.precision[size_t(c)]);
      m.set("recall/" + name, pc.recall[size_t(c)]);
      m.set("f1/" + name, pc.f1[size_t(c)]);
      m.set("support/" + name, double(pc.support[size_t(c)]));
    }
  }
  return m;
}

static std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string confusion_matrix_csv(const ConfusionMatrix& cm, const std::vector<std::string>& labels) {
  auto name = [&](size_t c) { return labels.empty() ? std::to_string(c) : labels[c]; };
  std::ostringstream os;
  os << "true\\pred";
  for (size_t c = 0; c < cm.size(); ++c) os << "," << csv_field(name(c));
  os << "\n";
  for (size_t t = 0; t < cm.size(); ++t) {
    os << csv_field(name(t));
    for (auto v : cm[t]) os << "," << v;
    os << "\n";
  }
  return os.str();
}

std::string confusion_matrix_json(const ConfusionMatrix& cm, const std::vector<std::string>& labels) {
  nlohmann::ordered_json j;
  std::vector<std::string> names = labels;
  if (names.empty()) {
    for (size_t c = 0; c < cm.size(); ++c) names.push_back(std::to_string(c));
  }
  j["labels"] = names;
  j["matrix"] = cm;
  return j.dump();
}

}  // namespace nlpc::eval
