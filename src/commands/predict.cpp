// `nlpc predict`: the task-agnostic part. The prediction itself is the task's
// (tasks::find_task(opts.task).predict); the statistics line is printed here.
#include "nlpc/commands/predict.h"

#include <cstdio>
#include <string>

#include "nlpc/core/error.h"
#include "nlpc/tasks/registry.h"

namespace nlpc {

PredictStats run_predict(const PredictOptions& opts) {
  const tasks::Task& task = tasks::find_task(opts.task);
  if (task.predict == nullptr) throw UsageError("--task " + task.name + " has no batch prediction");
  if (!opts.asr_model.empty() && !task.speech_input) {
    throw UsageError("--asr-model applies to classification (--task classification), not to --task " + task.name);
  }
  return task.predict(opts);
}

void report_predict_stats(const PredictStats& s) {
  if (s.skipped > 0) {
    std::string rows;
    for (size_t i = 0; i < s.skipped_rows.size() && i < 20; ++i) rows += (i ? ", " : "") + std::to_string(s.skipped_rows[i]);
    std::fprintf(stderr, "skipped %lld malformed row(s) at line(s) %s%s\n", static_cast<long long>(s.skipped),
                 rows.c_str(), s.skipped > 20 ? ", ..." : "");
  }
  std::fprintf(stderr, "predicted %lld rows in %.1f s (%.0f rows/s)\n", static_cast<long long>(s.rows), s.seconds,
               s.seconds > 0 ? static_cast<double>(s.rows) / s.seconds : 0.0);
}

}  // namespace nlpc
