#pragma once
// Summarization with T5 (`task: summarize`): `nlpc train` (teacher-forced cross-entropy, from
// scratch or from a Hugging Face T5 folder), `nlpc eval --task summarize` (ROUGE-1/2/L/Lsum with
// bootstrap intervals, next to a lead baseline) and `nlpc predict --task summarize` (streaming,
// adds a `summary` column/field). Torch-free header; the model side is in summarizer.h.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nlpc/tasks/options.h"
#include "nlpc/eval/metric_set.h"
#include "nlpc/data/summary_set.h"
#include "nlpc/eval/rouge.h"

namespace nlpc {

struct TrainConfig;
namespace runs {
class Run;
}

// The lead baseline: the first sentence of `text` (up to and including the first '.', '!' or '?'
// followed by whitespace or the end, or up to a blank line), with runs of whitespace collapsed.
std::string lead_sentence(const std::string& text);

struct SummaryScores {
  eval::MetricSet metrics;  // rouge1, rouge2, rougeL, rougeLsum (F-measures, corpus means)
  std::vector<eval::MetricInterval> intervals;  // with bootstrap > 0
};
// ROUGE of predictions against targets, with percentile bootstrap intervals when bootstrap > 0.
SummaryScores score_summaries(const std::vector<std::string>& targets, const std::vector<std::string>& predictions,
                              const eval::RougeOptions& rouge, int64_t bootstrap, double ci, uint64_t seed);
// "metric  value  [low, high]" lines.
std::string format_summary_scores(const SummaryScores& s);

// ---- registry entry points (src/tasks/registry.cpp)
// `nlpc eval --task summarize` (eval.cpp): ROUGE with bootstrap intervals, next to the lead
// baseline with --lead-baseline; predictions.jsonl and metrics.json in the run's artifacts.
std::map<std::string, double> evaluate_summarization(const EvalCommandOptions& opts, runs::Run& run);
// `nlpc predict --task summarize` (predict.cpp): streaming, adds a `summary` column/field.
PredictStats predict_summarization(const PredictOptions& opts);
// `nlpc train` with task summarize (train.cpp); returns the exit code.
int train_summarization(const TrainConfig& cfg, runs::Run& run, bool resume);

}  // namespace nlpc
