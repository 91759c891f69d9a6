#pragma once
// The speech-recognition task (`task: asr`, a Whisper model): its entry points in the task
// registry (train, eval) and the pieces its eval, `predict --asr-model` and
// `transcribe --manifest` share. Torch-free header; the model side is in transcriber.h.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nlpc/data/manifest.h"
#include "nlpc/eval/metric_set.h"
#include "nlpc/eval/wer.h"
#include "nlpc/tasks/options.h"

namespace nlpc {

struct TrainConfig;
struct TranscribeOptions;
class WhisperTranscriber;
namespace runs {
class Run;
}

// ---- registry entry points (src/tasks/registry.cpp)

// `nlpc train` with task: asr (src/tasks/asr/train.cpp): trains, saves artifacts/model and scores
// it on test (else valid). Returns the exit code.
int train_asr(const TrainConfig& cfg, runs::Run& run, bool resume);
// `nlpc eval --task asr` (src/tasks/asr/eval.cpp): WER/CER of the Whisper folder opts.model on the
// manifest opts.data. Returns the aggregate metrics (wer, cer) for the gates.
std::map<std::string, double> evaluate_asr(const EvalCommandOptions& opts, runs::Run& run);

// ---- scoring

// What scoring a Whisper folder on a manifest needs (eval and the end of training).
struct AsrScoreSettings {
  std::string model, data, format = "auto";
  std::string audio_column = "audio", text_column = "text";
  std::string language;  // code or name, or auto; empty: the model's generation_config language
  std::string device = "cpu";
  std::string precision = "auto";  // auto (as stored) | fp32 | int8 (nlpc/models/layers/int8.h)
  bool normalize = true;  // lower-case and strip punctuation before scoring
  int64_t bootstrap = 0;
  double ci = 0.95;
  uint64_t seed = 0;
  std::string metrics_output;  // also write the metrics JSON here ("" = no)
};

// WER/CER metrics: wer, cer, and the counts (words, substitutions, deletions, insertions,
// chars, char_errors) of normalised references and hypotheses.
eval::MetricSet asr_metrics(const eval::AsrScores& s);

// Transcribes every row of s.data (greedy, no timestamps, temperature 0), scores it, logs
// <prefix><metric> at `step` (with bootstrap intervals when s.bootstrap > 0), writes transcripts.csv
// and asr_scores.json into the run's artifacts and prints the table. Returns wer and cer.
eval::MetricSet score_asr_model(const AsrScoreSettings& s, runs::Run& run, const std::string& prefix = "test/",
                                int64_t step = 0);

// ---- pieces shared with predict and transcribe

// `nlpc predict --asr-model DIR --audio-column COL` (src/tasks/asr/predict.cpp): transcribes each
// row's audio into a `transcript` column (predicted_transcript when the input has one), then
// classifies it with opts.model as `nlpc predict --text-column transcript` does; every input column
// is kept. Rows are held in memory (transcription, not I/O, is the cost).
PredictStats predict_speech(const PredictOptions& opts);

// Transcription settings for scoring and pipelines: deterministic greedy decoding without
// timestamps, one window per clip for short clips, language detected unless given.
TranscribeOptions scoring_options(const std::string& model, const std::string& device,
                                  const std::string& precision = "auto");
// The transcript of every recording of `m` (stripped), with a progress bar named `what`; an
// unreadable audio file is an InputError naming the manifest, the line and the column.
std::vector<std::string> transcribe_manifest(WhisperTranscriber& tr, const AsrManifest& m, const std::string& what);
// Writes rows (fields in `columns` order) as csv, tsv or jsonl to `path` (atomically).
void write_manifest_rows(const std::string& path, const std::string& format, const std::vector<std::string>& columns,
                         const std::vector<std::vector<std::string>>& rows);
// The output format: `requested` unless "auto", else from the extension of `path`, else `input_format`.
std::string manifest_output_format(const std::string& path, const std::string& requested,
                                   const std::string& input_format);

}  // namespace nlpc
