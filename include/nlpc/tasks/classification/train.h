#pragma once
// Pieces of `nlpc train` shared by its model families (n-gram, transformers).
#include <optional>
#include <string>
#include <vector>

#include "nlpc/tasks/classification/scoring.h"
#include "nlpc/runs/run.h"
#include "nlpc/train/train_config.h"

namespace nlpc {

struct TrainData {
  DataSpec spec;
  LabelledSet train;
  std::optional<LabelledSet> valid, test;
  std::vector<std::string> labels;
  // data.shuffle_buffer > 0 (streamed training): what the first pass learnt; `train` then holds no rows.
  std::optional<LabelledSummary> train_summary;
  bool valid_logged = false;  // valid/<metric> already logged during training
};

TrainData read_train_data(const TrainConfig& cfg, runs::Run& run);
// Loads artifacts/model back and scores it on test (else valid); logs, writes artifacts and charts,
// prints the run id and the table.
void evaluate_saved_model(const TrainConfig& cfg, const TrainData& data, runs::Run& run, int64_t step);

// Each trains, logs its curves into `run` and saves the best model into run.artifact_path("model").
// They return the final step (for the step of the test metrics).
int64_t train_ngram(const TrainConfig& cfg, const TrainData& data, runs::Run& run);
int64_t train_transformer(const TrainConfig& cfg, const TrainData& data, runs::Run& run, bool resume);

}  // namespace nlpc
