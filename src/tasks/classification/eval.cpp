// `nlpc eval` for classifiers: the saved model's metrics on labelled data (src/tasks/classification/
// scoring.cpp does the scoring shared with the end of training).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "nlpc/core/fs.h"
#include "nlpc/runs/report.h"
#include "nlpc/runs/run.h"
#include "nlpc/tasks/classification/classification.h"
#include "nlpc/tasks/classification/classifier.h"
#include "nlpc/tasks/classification/scoring.h"

namespace nlpc {

std::map<std::string, double> evaluate_classification(const EvalCommandOptions& opts, runs::Run& run) {
  log_eval_params(run, opts);
  std::map<std::string, double> aggregate;
  auto clf = load_text_classifier(opts.model, opts.device, opts.precision);
  run.log_param("model.type", clf->architecture());
  DataSpec spec = opts.spec;
  spec.multilabel = clf->multilabel();
  LabelledSet data = read_labelled_set(opts.data, spec);
  map_labels(data, clf->labels(), spec);
  EvalSettings es;
  es.bootstrap = opts.bootstrap;
  es.ci = opts.ci;
  es.seed = opts.seed;
  es.errors = opts.errors;
  es.batch_size = opts.batch_size;
  EvalResult r = evaluate_classifier(*clf, data, es);
  for (const auto& [name, v] : r.metrics.items()) {
    if (!is_aggregate_metric(name)) continue;
    run.log_metric("test/" + name, v, 0);
    aggregate[name] = v;
  }
  write_eval_artifacts(run.artifacts_dir(), r, data, clf->labels(), es);
  write_run_charts(run.dir());
  if (!opts.errors_output.empty() && file_exists(run.artifact_path("errors.csv"))) {
    write_file_atomic(opts.errors_output, read_file(run.artifact_path("errors.csv")));
  }
  if (!opts.metrics_output.empty()) write_file_atomic(opts.metrics_output, r.metrics.to_json() + "\n");
  std::printf("run %s (%s) in %s\n", run.id().c_str(), run.name().c_str(), run.dir().c_str());
  std::printf("metrics on %s (%zu rows):\n%s", opts.data.c_str(), data.texts.size(),
              format_metrics_table(r).c_str());
  std::fflush(stdout);

  return aggregate;
}

}  // namespace nlpc
