// `nlpc train` for model.type = ngram: the fast hashed n-gram + linear baseline.
#include <cstdio>

#include "nlpc/data/model_columns.h"
#include "nlpc/tasks/classification/train.h"
#include "nlpc/core/log.h"
#include "nlpc/core/system.h"
#include "nlpc/models/ngram/linear.h"

namespace nlpc {

int64_t train_ngram(const TrainConfig& cfg, const TrainData& data, runs::Run& run) {
  const models::NgramFeatureOptions& f = cfg.model.ngram_features;  // model.ngram.* (bound by the schema)
  models::NgramTrainOptions t = cfg.model.ngram_train;
  t.epochs = static_cast<int>(cfg.train.epochs);
  t.lr = static_cast<float>(cfg.train.lr);
  t.seed = static_cast<uint64_t>(cfg.train.seed);
  t.threads = num_threads();
  // The training matrix and the solver's state go to scratch files beside the run (unlinked at once).
  if (t.scratch_dir.empty()) t.scratch_dir = run.dir();
  t.on_epoch = [&](int epoch, const eval::MetricSet& valid) {
    for (const auto& [name, v] : valid.items()) {
      if (is_aggregate_metric(name)) run.log_metric("valid/" + name, v, epoch);
    }
    spdlog::info("epoch {}: valid {} {:.4f}", epoch, cfg.train.metric, valid.get_or_nan(cfg.train.metric));
  };

  auto to_dataset = [&](const LabelledSet& s) {
    models::NgramDataset d;
    d.texts = s.texts;
    d.labels = s.labels;
    d.label_sets = s.label_sets;
    return d;
  };
  models::NgramDataset train = to_dataset(data.train);
  if (data.train.texts.empty()) {
    train.scan = [&](const std::function<void(std::string&)>& row) {
      scan_labelled_texts(data.train.file, data.spec, row);
    };
  }
  std::optional<models::NgramDataset> valid;
  if (data.valid) valid = to_dataset(*data.valid);
  const models::NgramDataset* vp = valid ? &*valid : nullptr;
  models::NgramModel model = data.spec.multilabel
                                 ? models::NgramModel::train_multilabel(train, data.labels, f, t, vp)
                                 : models::NgramModel::train(train, data.labels, f, t, vp);
  run.log_param("model.num_features", model.num_features());
  model.save(run.artifact_path("model"));
  record_model_columns(run.artifact_path("model"), columns_of_spec(data.spec, cfg.task));
  return cfg.train.epochs;
}

}  // namespace nlpc
