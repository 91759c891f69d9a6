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
#include "nlpc/core/log.h"
#include "nlpc/data/model_columns.h"
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

namespace {
// The model's recorded columns fill the column flags not given (the Whisper folder's audio column
// with --asr-model); returns what was taken, for the missing-column hint.
std::string apply_columns(PredictOptions& o) {
  DataSpec spec;
  spec.text_column = o.text_column;
  spec.pair_column = o.pair_column;
  spec.audio_column = o.audio_column;
  std::set<std::string> given = o.columns_given;
  given.insert({"label_column", "target_column"});  // not read by predict
  if (o.asr_model.empty()) given.insert("audio_column");
  if (!o.asr_model.empty()) given.insert({"text_column", "pair_column"});  // the transcript is the text
  std::string taken = apply_model_columns(o.asr_model.empty() ? o.model : o.asr_model, spec, given);
  o.text_column = spec.text_column;
  o.pair_column = spec.pair_column;
  o.audio_column = spec.audio_column;
  if (!taken.empty()) spdlog::info("columns of the model: {}", taken);
  return taken;
}
}  // namespace

PredictStats run_predict(const PredictOptions& given) {
  PredictOptions opts = given;
  const std::string taken = apply_columns(opts);
  const tasks::Task& task = tasks::find_task(opts.task);
  if (task.predict == nullptr) throw UsageError("--task " + task.name + " has no batch prediction");
  if (!opts.asr_model.empty() && !task.speech_input) {
    throw UsageError("--asr-model applies to classification (--task classification), not to --task " + task.name);
  }
  auto predict = [&] {
    if (!launch_env().distributed()) return task.predict(opts);
    // Under a launcher, rank r predicts windows r, r + W, ... (stream_windows) and rank 0 alone
    // writes the output, in input order.
    dist::init(std::chrono::seconds(dist_timeout_s()));
    PredictOptions o = opts;
    o.discard_output = !dist::is_main();
    return task.predict(o);
  };
  return read_with_model_columns(opts.asr_model.empty() ? opts.model : opts.asr_model, taken, predict);
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
