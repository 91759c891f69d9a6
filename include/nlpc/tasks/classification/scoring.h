#pragma once
// Scoring a TextClassifier on labelled data: the one evaluation path used at the end of `nlpc train`
// (on the saved model, so what is scored is what was shipped) and by `nlpc eval`.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nlpc/eval/bootstrap.h"
#include "nlpc/eval/classification.h"
#include "nlpc/eval/matrix.h"
#include "nlpc/eval/metric_set.h"
#include "nlpc/eval/multilabel.h"
#include "nlpc/data/labelled_set.h"
#include "nlpc/eval/gate.h"

namespace nlpc {

class TextClassifier;
struct EvalSettings {
  int64_t bootstrap = 0;  // resamples; 0 = no intervals
  double ci = 0.95;
  uint64_t seed = 0;
  int64_t errors = 0;     // most confident mistakes per class written to errors.csv
  size_t batch_size = 0;  // 0 = the model's default
};

struct EvalResult {
  eval::MetricSet metrics;                    // aggregate metrics first, then per class (name/label)
  std::vector<eval::MetricInterval> intervals;
  eval::Matrix proba;
  eval::ConfusionMatrix confusion;            // single-label only
  eval::PerClass per_class;                   // single-label only
  std::vector<float> thresholds;              // multi-label only
};

// Probabilities for every text, batched by length when the model prefers it (batch_size 0 = the
// model's), with a progress bar named `what` ("" = none).
eval::Matrix predict_all(TextClassifier& clf, const std::vector<std::string>& texts,
                         const std::vector<std::string>* pairs, size_t batch_size, const std::string& what);

EvalResult evaluate_classifier(TextClassifier& clf, const LabelledSet& data, const EvalSettings& settings);

// Writes confusion_matrix.{csv,json}, classification_report.json, label_map.json, bootstrap.json
// (with intervals) and errors.csv (with settings.errors > 0) into `dir`.
void write_eval_artifacts(const std::string& dir, const EvalResult& result, const LabelledSet& data,
                          const std::vector<std::string>& labels, const EvalSettings& settings);

// "metric  value  [low, high]" table of the aggregate metrics (per-class ones left out).
std::string format_metrics_table(const EvalResult& result);

}  // namespace nlpc
