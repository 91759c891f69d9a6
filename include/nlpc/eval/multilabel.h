#pragma once
// Multi-label metrics from true label sets and per-label probabilities [n x L] with thresholds.
// A label is predicted when p >= its threshold. Semantics follow scikit-learn 1.2 on indicator
// matrices (golden tests: scripts/ref/metrics_ref.py):
//  - f1/precision/recall micro pool all (row, label) cells; macro averages over ALL L labels,
//    a label with no true and no predicted row scores 0 (zero_division=0);
//  - subset_accuracy: rows whose predicted set equals the true set exactly;
//  - hamming_loss: wrong cells / (n * L);
//  - precision_at_k: mean over rows of |top-k labels by probability  ∩  true set| / k (rows with
//    an empty true set count as 0; ties broken by the lower label id).
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/eval/matrix.h"
#include "nlpc/eval/metric_set.h"

namespace nlpc::eval {

using LabelSets = std::vector<std::vector<int>>;  // per row: label ids (any order, no duplicates)

struct MultilabelOptions {
  std::vector<int> precision_at = {1, 3, 5};
  bool per_label = false;  // add f1/<label>
};

// thresholds: one per label, or a single value for all labels.
MetricSet multilabel_metrics(const LabelSets& y_true, const Matrix& proba,
                             const std::vector<float>& thresholds,
                             const std::vector<std::string>& labels = {},
                             const MultilabelOptions& opts = {});

// Per-label thresholds maximising that label's F1 on a validation set. For each label the scores
// are swept from high to low; the chosen threshold is the midpoint between the lowest score kept
// positive and the next lower score (so the same validation scores reproduce the same choice).
// Ties in F1 keep the higher threshold. Labels with fewer than `min_positives` positive rows in the
// validation set keep `default_threshold`: with one or two positives the F1-optimal cut is mostly
// noise and often very low, which floods the test set with false positives (seen on Debian tags:
// micro-F1 0.58 at 0.5 fell to 0.24 with min_positives = 1).
std::vector<float> tune_thresholds(const LabelSets& y_true, const Matrix& proba,
                                   float default_threshold = 0.5f, int min_positives = 5);

}  // namespace nlpc::eval
