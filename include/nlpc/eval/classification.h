#pragma once
// Single-label classification metrics from true class ids and predicted probabilities [n x k].
// Semantics follow scikit-learn 1.2 (golden tests: scripts/ref/metrics_ref.py):
//  - predictions are the argmax of each row (ties go to the lowest class id, as numpy.argmax);
//  - precision/recall/F1 use zero_division=0: an undefined ratio counts as 0;
//  - macro averages run over the classes present in y_true or in the predictions (scikit-learn's
//    default `labels`); classes absent from both are reported per class as 0 but not averaged;
//  - micro averages pool every class (for single-label data: precision = recall = F1 = accuracy);
//  - weighted averages weight each class by its support in y_true;
//  - roc_auc_ovr_macro averages one-vs-rest binary AUCs (ties counted half) over the classes that
//    occur in y_true and are not the only class; scikit-learn raises an error when y_true lacks a
//    class, nlpc leaves such classes out and reports how many were used in
//    "roc_auc_ovr_macro/classes" (a count: not an aggregate metric, no confidence interval).
//    NaN when fewer than two classes occur in y_true;
//  - log_loss clips probabilities to [eps, 1 - eps] with eps = 2.22e-16 (float64 machine epsilon,
//    scikit-learn 1.2 eps="auto" on float64 input), renormalises each row, and averages
//    -log p(true class) (scikit-learn 1.2's log_loss with labels = 0..k-1).
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/eval/matrix.h"
#include "nlpc/eval/metric_set.h"

namespace nlpc::eval {

struct ClassificationOptions {
  bool per_class = true;        // add precision/<label>, recall/<label>, f1/<label>, support/<label>
  bool roc_auc = true;
  bool log_loss = true;
  double log_loss_eps = 2.220446049250313e-16;  // numpy.finfo(float64).eps
};

// counts[t][p]: rows of true class t predicted as p. k x k.
using ConfusionMatrix = std::vector<std::vector<int64_t>>;

std::vector<int> argmax_rows(const Matrix& proba);
ConfusionMatrix confusion_matrix(const std::vector<int>& y_true, const std::vector<int>& y_pred, int k);

// Per-class precision, recall, F1 and support (y_true counts) from a confusion matrix.
struct PerClass {
  std::vector<double> precision, recall, f1;
  std::vector<int64_t> support, predicted;
};
PerClass per_class_scores(const ConfusionMatrix& cm);

// Binary ROC-AUC of `score` for `positive` (0/1); NaN when one of the two classes is missing.
double roc_auc_binary(const std::vector<char>& positive, const std::vector<float>& score);
double log_loss(const std::vector<int>& y_true, const Matrix& proba,
                double eps = 2.220446049250313e-16);

// All metrics, in this order: accuracy, precision_macro, recall_macro, f1_macro, precision_micro,
// recall_micro, f1_micro, precision_weighted, recall_weighted, f1_weighted, roc_auc_ovr_macro,
// roc_auc_ovr_macro/classes, log_loss, then per class (label names from `labels`, ids when empty).
// Throws InputError when sizes disagree or a label id is out of range.
MetricSet classification_metrics(const std::vector<int>& y_true, const Matrix& proba,
                                 const std::vector<std::string>& labels = {},
                                 const ClassificationOptions& opts = {});

// CSV with a header row "true\\pred,<labels...>" then one row per true class.
std::string confusion_matrix_csv(const ConfusionMatrix& cm, const std::vector<std::string>& labels);
// {"labels": [...], "matrix": [[...], ...]}
std::string confusion_matrix_json(const ConfusionMatrix& cm, const std::vector<std::string>& labels);

}  // namespace nlpc::eval
