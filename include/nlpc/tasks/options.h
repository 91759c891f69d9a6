#pragma once
// The option structs of the task-agnostic commands (`nlpc eval`, `nlpc predict`): filled by the CLI
// (src/cli/cmd_eval.cpp, cmd_predict.cpp), read by src/commands/ and by each task's eval/predict
// functions (src/tasks/<task>/). Torch-free.
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nlpc/data/spec.h"
#include "nlpc/data/text_rows.h"
#include "nlpc/runs/run.h"

namespace nlpc {

namespace io {
class RowSink;
}

// Command-line overrides of generation_config.json (unset = the model folder's value).
struct GenerationOverrides {
  std::optional<int64_t> num_beams, max_new_tokens, min_length, no_repeat_ngram_size, top_k;
  std::optional<double> length_penalty, temperature, top_p;
  std::optional<bool> do_sample;
  std::optional<uint64_t> seed;
};

// What `eval`/`predict --task summarize` need beyond the common options.
struct SummarizeOptions {
  bool lead_baseline = false;             // eval: also score the first sentence of the text
  bool stemmer = false;                   // eval: Porter stemming in ROUGE (English only)
  std::optional<std::string> source_prefix;  // default: the model's (config.json)
  GenerationOverrides gen;
};

struct EvalCommandOptions {
  std::string task = "classification";  // a row of tasks::all_tasks() (--task)
  std::string model;
  std::string data;
  // --format, --delimiter and the column flags (multilabel comes from the model); the columns the
  // model folder records (data/model_columns.h) fill the ones not in `columns_given`
  DataSpec spec;
  std::set<std::string> columns_given;  // DataSpec field names set by flags (text_column, ...)
  int64_t bootstrap = 0;
  double ci = 0.95;
  uint64_t seed = 0;
  int64_t errors = 0;
  std::string errors_output;  // copy errors.csv here too ("" = only in the run's artifacts)
  std::vector<std::string> gates;
  std::string baseline;  // run id (prefix), run folder, or a metrics .json file
  double max_drop = 0.01;
  size_t batch_size = 0;
  std::string device = "cpu";
  std::string precision = "auto";  // auto (as stored) | fp32 | int8 (nlpc/models/layers/int8.h)
  std::string metrics_output;  // optional: write the metrics JSON here
  // task "asr": --model is a Whisper folder, --data a manifest of recordings (src/tasks/asr/eval.cpp)
  std::string language;               // asr: language for decoding, or auto; empty: the model's, else auto
  bool asr_normalize = true;           // asr: lower-case and strip punctuation before scoring
  runs::RunOptions run;
  SummarizeOptions summarize;  // --task summarize
};

struct PredictOptions {
  std::string task = "classification";  // a row of tasks::all_tasks() (--task)
  std::string model;
  std::string input = "-";
  std::string output = "-";
  std::string input_format = "auto";   // auto|csv|tsv|jsonl|txt
  std::string output_format = "auto";  // auto (from the output extension, else the input format)
  std::string text_column = "text";  // default: the model folder's record (data/model_columns.h)
  std::string pair_column;
  std::set<std::string> columns_given;  // text_column, pair_column, audio_column when set by flags
  std::string delimiter;  // CSV input delimiter ("" = format default)
  int top_k = 1;
  bool all_probs = false;
  double threshold = -1;  // multi-label: < 0 = the model's tuned thresholds (0.5 when none)
  int batch_size = 0;     // 0 = the model's default
  int window = 0;         // rows buffered for length batching; 0 = 64 batches
  std::string on_error = "fail";  // fail | skip (malformed rows)
  std::string device = "cpu";
  std::string precision = "auto";  // auto (as stored) | fp32 | int8 (nlpc/models/layers/int8.h)
  SummarizeOptions summarize;  // --task summarize
  // Speech input (src/tasks/asr/predict.cpp): transcribe `audio_column` with this Whisper folder into a
  // `transcript` column, then classify the transcript.
  std::string asr_model;
  std::string audio_column = "audio";
  std::string asr_language;  // empty: the Whisper model's generation_config language, else auto
  // Under a launcher, ranks other than 0 write no output: their rows go to rank 0 (stream_windows).
  bool discard_output = false;
};

struct PredictStats : RowSkips {
  int64_t rows = 0;  // rows predicted
  double seconds = 0;
};

// The input table of `nlpc predict` (--input-format, --delimiter; ragged rows readable with
// --on-error skip, so that read_window can skip them). --on-error other than fail|skip: UsageError.
io::TableReader open_predict_input(const PredictOptions& opts);

// The streaming loop of every task's predict: reads `reader` in windows of up to `window`
// well-formed rows (malformed ones fail or are skipped per opts.on_error), calls `process` on each
// window (which writes its rows, in input order, to `sink`), shows a progress bar named `label`,
// commits `sink` at the end and returns the statistics.
PredictStats stream_windows(io::TableReader& reader, const PredictOptions& opts, size_t window,
                            const std::string& label, io::RowSink& sink,
                            const std::function<void(const std::vector<io::TableRecord>&)>& process);

// Logs the `eval.*` parameters every scoring run records (model, data, columns, bootstrap, ci).
void log_eval_params(runs::Run& run, const EvalCommandOptions& opts);

}  // namespace nlpc
