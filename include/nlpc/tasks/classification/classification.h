#pragma once
// The text-classification task (`task: classification` / `multilabel`; n-gram baseline, BERT,
// DistilBERT): its entry points in the task registry (src/tasks/registry.cpp). Torch-free.
#include <map>
#include <string>

#include "nlpc/tasks/options.h"

namespace nlpc {

struct TrainConfig;
namespace runs {
class Run;
}

// `nlpc train` (src/tasks/classification/train.cpp): reads the labelled files, trains the model
// family of cfg.model.type, saves artifacts/model and scores the saved model on test (else valid)
// with the same code as `nlpc eval`. Returns the exit code.
int train_classification(const TrainConfig& cfg, runs::Run& run, bool resume);

// `nlpc eval` (src/tasks/classification/eval.cpp): metrics with bootstrap intervals, confusion
// matrix, per-class report and the most confident mistakes of opts.model on opts.data. Returns the
// aggregate metrics for the gates.
std::map<std::string, double> evaluate_classification(const EvalCommandOptions& opts, runs::Run& run);

// `nlpc predict` (src/tasks/classification/predict.cpp): streaming batch classification; with
// opts.asr_model, speech -> transcript -> label (src/tasks/asr/predict.cpp).
PredictStats predict_classification(const PredictOptions& opts);

}  // namespace nlpc
