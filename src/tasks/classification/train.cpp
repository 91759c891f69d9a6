// `nlpc train` for classification (single- and multi-label): labelled data in, the model family of
// model.type trained (train_ngram.cpp, train_transformer.cpp), the saved model scored on test.
#include "nlpc/dist/dist.h"
#include "nlpc/tasks/classification/train.h"

#include <chrono>
#include <cstdio>

#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/runs/report.h"
#include "nlpc/tasks/classification/classification.h"
#include "nlpc/tasks/classification/classifier.h"

namespace nlpc {

namespace {

// A valid or test file. With a streamed training file they stay in memory up to data.max_eval_rows.
LabelledSet read_eval_set(const TrainConfig& cfg, const std::string& path, const DataSpec& spec,
                          const std::vector<std::string>& labels) {
  DataSpec s = spec;
  const int64_t limit = cfg.data.shuffle_buffer > 0 && cfg.model.type != "ngram" ? cfg.data.max_eval_rows : 0;
  if (limit > 0 && (s.max_rows <= 0 || s.max_rows > limit)) s.max_rows = limit + 1;
  LabelledSet set = read_labelled_set(path, s);
  if (limit > 0 && set.num_rows > limit && (spec.max_rows <= 0 || spec.max_rows > limit)) {
    throw InputError(path, 0, 0,
                     "more than data.max_eval_rows = " + std::to_string(limit) +
                         " rows: validation and test sets are held in memory while the training file is "
                         "streamed; sample it, or raise data.max_eval_rows");
  }
  map_labels(set, labels, spec);
  return set;
}

}  // namespace

TrainData read_train_data(const TrainConfig& cfg, runs::Run& run) {
  TrainData d;
  d.spec = cfg.data;  // the data section is the readers' DataSpec (multilabel from the task)
  const bool streamed = cfg.data.shuffle_buffer > 0 && cfg.model.type != "ngram";
  if (cfg.data.shuffle_buffer < 0) {
    throw UsageError("data.shuffle_buffer must be >= 0 (0 reads the training file into memory), got " +
                     std::to_string(cfg.data.shuffle_buffer));
  }
  if (streamed) {
    // A first pass learns the rows and labels; the rows are read again, tokenized, while training.
    d.train_summary = summarize_labelled_set(cfg.data.train, d.spec);
    d.train.file = cfg.data.train;
    d.train.num_rows = d.train_summary->num_rows;
    d.train.skipped_empty = d.train_summary->skipped_empty;
    d.train.skipped_unlabelled = d.train_summary->skipped_unlabelled;
    for (const auto& [name, count] : d.train_summary->label_counts) d.labels.push_back(name);
  } else {
    // The n-gram baseline streams its training texts from the file (twice) instead of holding them.
    d.train = read_labelled_set(cfg.data.train, d.spec, cfg.model.type != "ngram");
    d.labels = collect_labels(d.train, d.spec);
  }
  if (d.labels.size() < 2 && !d.spec.multilabel) {
    throw InputError(cfg.data.train, 0, 0,
                     "column \"" + d.spec.label_column + "\" has " + std::to_string(d.labels.size()) +
                         " distinct label(s): classification needs at least 2");
  }
  if (!streamed) map_labels(d.train, d.labels, d.spec);
  if (d.train.texts.empty()) std::vector<std::string>().swap(d.train.raw_labels);  // streamed: ids suffice
  if (!cfg.data.valid.empty()) d.valid = read_eval_set(cfg, cfg.data.valid, d.spec, d.labels);
  if (!cfg.data.test.empty()) d.test = read_eval_set(cfg, cfg.data.test, d.spec, d.labels);
  run.log_param("data.num_labels", static_cast<int64_t>(d.labels.size()));
  run.log_param("data.train_rows", d.train.num_rows);
  run.log_param("data.train_skipped_empty", d.train.skipped_empty);
  if (d.valid) run.log_param("data.valid_rows", static_cast<int64_t>(d.valid->texts.size()));
  if (d.test) run.log_param("data.test_rows", static_cast<int64_t>(d.test->texts.size()));
  spdlog::info("data: {} train rows{}, {} labels{}{}", d.train.num_rows, streamed ? " (streamed)" : "", d.labels.size(),
               d.valid ? ", " + std::to_string(d.valid->texts.size()) + " valid" : "",
               d.test ? ", " + std::to_string(d.test->texts.size()) + " test" : "");
  return d;
}

void evaluate_saved_model(const TrainConfig& cfg, const TrainData& data, runs::Run& run, int64_t step) {
  auto clf = load_text_classifier(run.artifact_path("model"), cfg.train.device);
  EvalSettings es;
  es.bootstrap = cfg.eval.bootstrap;
  es.ci = cfg.eval.ci;
  es.seed = static_cast<uint64_t>(cfg.train.seed);
  es.errors = cfg.eval.errors;
  es.batch_size = static_cast<size_t>(cfg.train.eval_batch_size);
  const LabelledSet* final_set = data.test ? &*data.test : data.valid ? &*data.valid : nullptr;
  const std::string prefix = data.test ? "test/" : "valid/";
  if (final_set == nullptr) {
    spdlog::warn("no data.valid or data.test: the model is saved but not evaluated");
    std::printf("run %s\n", run.id().c_str());
    return;
  }
  if (data.valid && data.test && !data.valid_logged) {
    // Models without evaluations during training (the n-gram SVM) still get their valid metrics.
    EvalSettings vs = es;
    vs.bootstrap = 0;
    vs.errors = 0;
    EvalResult v = evaluate_classifier(*clf, *data.valid, vs);
    for (const auto& [name, x] : v.metrics.items()) {
      if (is_aggregate_metric(name)) run.log_metric("valid/" + name, x, step);
    }
  }
  EvalResult r = evaluate_classifier(*clf, *final_set, es);
  for (const auto& [name, v] : r.metrics.items()) {
    if (is_aggregate_metric(name)) run.log_metric(prefix + name, v, step);
  }
  write_eval_artifacts(run.artifacts_dir(), r, *final_set, clf->labels(), es);
  write_run_charts(run.dir());
  std::printf("run %s (%s) in %s\n", run.id().c_str(), run.name().c_str(), run.dir().c_str());
  std::printf("%s metrics on %s (%zu rows):\n%s", prefix.substr(0, prefix.size() - 1).c_str(),
              final_set->file.c_str(), final_set->texts.size(), format_metrics_table(r).c_str());
  std::fflush(stdout);
}

int train_classification(const TrainConfig& cfg, runs::Run& run, bool resume) {
  const auto t0 = std::chrono::steady_clock::now();
  TrainData data = read_train_data(cfg, run);
  data.valid_logged = cfg.model.type != "ngram" || cfg.model.ngram_train.solver == "sgd";
  const int64_t final_step =
      cfg.model.type == "ngram" ? train_ngram(cfg, data, run) : train_transformer(cfg, data, run, resume);
  if (!dist::is_main()) return 0;  // under a launcher, rank 0 alone saves and scores
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.log_metric("train/seconds", secs, final_step);
  evaluate_saved_model(cfg, data, run, final_step);
  return 0;
}

}  // namespace nlpc
