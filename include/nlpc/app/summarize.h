#pragma once
// Summarization with T5 (`task: summarize`): `nlpc train` (teacher-forced cross-entropy, from
// scratch or from a Hugging Face T5 folder), `nlpc eval --task summarize` (ROUGE-1/2/L/Lsum with
// bootstrap intervals, next to a lead baseline) and `nlpc predict --task summarize` (streaming,
// adds a `summary` column/field). Torch-free header; the model side is in summarizer.h.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nlpc/app/eval.h"
#include "nlpc/app/predict.h"
#include "nlpc/eval/metric_set.h"
#include "nlpc/eval/rouge.h"

namespace nlpc {

struct TrainConfig;
namespace runs {
class Run;
}

// Command-line overrides of generation_config.json (unset = the model folder's value).
struct GenerationOverrides {
  std::optional<int64_t> num_beams, max_new_tokens, min_length, no_repeat_ngram_size, top_k;
  std::optional<double> length_penalty, temperature, top_p;
  std::optional<bool> do_sample;
  std::optional<uint64_t> seed;
};

// What `eval`/`predict` need beyond their classification options.
struct SummarizeOptions {
  std::string task = "classification";  // classification (the default path) | summarize
  std::string target_column = "summary";
  bool lead_baseline = false;             // eval: also score the first sentence of the text
  bool stemmer = false;                   // eval: Porter stemming in ROUGE (English only)
  int64_t max_rows = 0;                   // eval: score only the first N rows (0 = all)
  std::string empty_target = "fail";      // eval: rows with an empty target: fail | skip
  std::optional<std::string> source_prefix;  // default: the model's (config.json)
  GenerationOverrides gen;
};

// Text/target pairs read from CSV/TSV/JSONL.
struct SummarySet {
  std::string file;
  std::vector<std::string> texts, targets;
  std::vector<int64_t> lines;
  int64_t skipped_empty = 0;  // rows with an empty text (skipped with empty_text "skip")
  int64_t skipped_empty_target = 0;  // rows with an empty target (skipped with empty_target "skip")
};

struct SummaryDataSpec {
  std::string format = "auto";
  std::string delimiter;  // "" = the format's
  std::string text_column = "text";
  std::string target_column = "summary";
  std::string empty_text = "skip";  // skip | fail
  std::string empty_target = "fail";  // fail | skip
  int64_t max_rows = 0;
};

// Reads text and target columns. A missing column is an InputError listing the columns; an empty
// target is an InputError naming file, line and column; empty texts are skipped (or an error).
SummarySet read_summary_set(const std::string& path, const SummaryDataSpec& spec);

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

int run_eval_summarize(const EvalCommandOptions& opts, const SummarizeOptions& so);
PredictStats run_predict_summarize(const PredictOptions& opts, const SummarizeOptions& so);
// `nlpc train` with task summarize; returns the process exit code.
int run_train_summarize(const TrainConfig& cfg, runs::Run& run, bool resume);

}  // namespace nlpc
