// `nlpc predict`: the task-agnostic part. The prediction itself is the task's
// (tasks::find_task(opts.task).predict); the statistics line is printed here.
#include "nlpc/commands/predict.h"

#include <cstdio>
#include <string>

#include <chrono>
#include <cstdlib>

#include "nlpc/core/error.h"
#include "nlpc/core/launch_env.h"
#include "nlpc/dist/dist.h"
#include "nlpc/tasks/registry.h"

namespace nlpc {
namespace {

// Under a launcher, seconds a rank waits for another ($NLPC_DIST_TIMEOUT_S, default 300).
int dist_timeout_s() {
  const char* v = std::getenv("NLPC_DIST_TIMEOUT_S");
  if (v == nullptr || *v == '\0') return 300;
  char* end = nullptr;
  const long s = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || s <= 0) {
    throw UsageError(std::string("NLPC_DIST_TIMEOUT_S='") + v + "' is not a positive number of seconds");
  }
  return static_cast<int>(s);
}

}  // namespace

PredictStats run_predict(const PredictOptions& opts) {
  const tasks::Task& task = tasks::find_task(opts.task);
  if (task.predict == nullptr) throw UsageError("--task " + task.name + " has no batch prediction");
  if (!opts.asr_model.empty() && !task.speech_input) {
    throw UsageError("--asr-model applies to classification (--task classification), not to --task " + task.name);
  }
  if (!launch_env().distributed()) return task.predict(opts);
  // Under a launcher, rank r predicts windows r, r + W, ... (stream_windows) and rank 0 alone
  // writes the output, in input order.
  dist::init(std::chrono::seconds(dist_timeout_s()));
  PredictOptions o = opts;
  o.discard_output = !dist::is_main();
  return task.predict(o);
}

void report_predict_stats(const PredictStats& s) {
  if (!dist::is_main()) return;  // rank 0 reports for the job
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
