#include "nlpc/app/train.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "nlpc/app/asr.h"
#include "nlpc/app/evaluate.h"
#include "nlpc/app/summarize.h"
#include "nlpc/app/train_internal.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/system.h"
#include "nlpc/models/text_classifier.h"
#include "nlpc/runs/report.h"
#include "nlpc/runs/store.h"
#include "nlpc/train/train_config.h"

namespace nlpc {
namespace fs = std::filesystem;

DataSpec data_spec(const TrainConfig& cfg) {
  DataSpec s;
  s.format = cfg.data.format.empty() ? "auto" : cfg.data.format;
  s.delimiter = cfg.data.delimiter == "," ? "" : cfg.data.delimiter;
  s.text_column = cfg.data.text_column;
  s.pair_column = cfg.data.pair_column;
  s.label_column = cfg.data.label_column;
  s.multilabel = cfg.task == "multilabel";
  s.label_separator = cfg.data.label_separator;
  s.empty_text = cfg.data.empty_text;
  s.max_rows = cfg.data.max_rows;
  return s;
}

TrainData read_train_data(const TrainConfig& cfg, runs::Run& run) {
  TrainData d;
  d.spec = data_spec(cfg);
  d.train = read_labelled_set(cfg.data.train, d.spec);
  d.labels = collect_labels(d.train, d.spec);
  if (d.labels.size() < 2 && !d.spec.multilabel) {
    throw InputError(cfg.data.train, 0, 0,
                     "column \"" + d.spec.label_column + "\" has " + std::to_string(d.labels.size()) +
                         " distinct label(s): classification needs at least 2");
  }
  map_labels(d.train, d.labels, d.spec);
  if (!cfg.data.valid.empty()) {
    d.valid = read_labelled_set(cfg.data.valid, d.spec);
    map_labels(*d.valid, d.labels, d.spec);
  }
  if (!cfg.data.test.empty()) {
    d.test = read_labelled_set(cfg.data.test, d.spec);
    map_labels(*d.test, d.labels, d.spec);
  }
  run.log_param("data.num_labels", static_cast<int64_t>(d.labels.size()));
  run.log_param("data.train_rows", static_cast<int64_t>(d.train.texts.size()));
  run.log_param("data.train_skipped_empty", d.train.skipped_empty);
  if (d.valid) run.log_param("data.valid_rows", static_cast<int64_t>(d.valid->texts.size()));
  if (d.test) run.log_param("data.test_rows", static_cast<int64_t>(d.test->texts.size()));
  spdlog::info("data: {} train rows, {} labels{}{}", d.train.texts.size(), d.labels.size(),
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

int run_train(const TrainCommandOptions& opts) {
  TrainConfig cfg;
  runs::Run run = [&]() {
    if (opts.resume.empty()) {
      cfg = load_train_config(opts.config, opts.sets);
      return runs::Run::start(opts.run);
    }
    const std::string dir = fs::exists(fs::path(opts.resume) / "run.json")
                                ? opts.resume
                                : runs::find_run(runs::resolve_runs_dir(opts.run.runs_dir), opts.resume);
    const std::string saved = dir + "/artifacts/config.json";
    if (!file_exists(saved)) throw InputError(saved, 0, 0, "cannot resume: the run has no saved configuration");
    if (!opts.config.empty() || !opts.sets.empty()) {
      throw UsageError("--resume continues a run with its own configuration: drop --config/--set");
    }
    cfg = load_train_config(saved, {});
    runs::Run r = runs::Run::open(dir);
    if (r.status() == runs::RunStatus::kFinished) {
      throw UsageError("run " + r.id() + " already FINISHED: there is nothing to resume");
    }
    r.reopen();
    return r;
  }();
  if (opts.resume.empty()) {
    run.set_seed(cfg.train.seed);
    run.log_params(cfg.resolved);
    write_file_atomic(run.artifact_path("config.json"), cfg.resolved.dump(2) + "\n");
  }
  spdlog::info("run {} ({}) in {}", run.id(), run.name(), run.dir());
  return runs::record(run, [&]() -> int {
    if (cfg.task == "summarize") return run_train_summarize(cfg, run, !opts.resume.empty());
    const auto t0 = std::chrono::steady_clock::now();
    if (cfg.task == "asr") {
      const int64_t step = train_asr(cfg, run, !opts.resume.empty());  // src/app/train_asr.cpp
      run.log_metric("train/seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), step);
      return 0;
    }
    if (cfg.task != "classification" && cfg.task != "multilabel") {
      throw UsageError("task '" + cfg.task + "' is not supported by nlpc train yet (supported: classification, multilabel, asr)");
    }
    TrainData data = read_train_data(cfg, run);
    data.valid_logged = cfg.model.type != "ngram" || cfg.model.ngram.solver == "sgd";
    int64_t final_step = 0;
    if (cfg.model.type == "ngram") {
      final_step = train_ngram(cfg, data, run);
    } else {
      final_step = train_transformer(cfg, data, run, !opts.resume.empty());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    run.log_metric("train/seconds", secs, final_step);
    evaluate_saved_model(cfg, data, run, final_step);
    return 0;
  });
}

}  // namespace nlpc
