#pragma once
// Speech pieces of the app layer: CSV/TSV/JSONL manifests of recordings, `nlpc eval --task asr`
// (WER/CER of a Whisper folder), `nlpc transcribe --manifest` and `nlpc predict --asr-model`
// (transcribe, then classify the transcript). Training is in train_asr.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/app/predict.h"
#include "nlpc/eval/metric_set.h"
#include "nlpc/eval/wer.h"

namespace nlpc {

struct EvalCommandOptions;
namespace runs {
class Run;
}

// A manifest read whole: every column kept, audio paths resolved against the manifest's folder
// (absolute paths stay as they are).
struct AsrManifest {
  std::string file;
  std::string format;                           // csv, tsv or jsonl (io::table_format_name)
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;   // fields, in column order
  std::vector<int64_t> lines;                   // line where each row starts
  std::vector<std::string> audio;               // resolved audio path of each row
  std::vector<std::string> texts;               // reference text of each row (empty without text_column)
  size_t audio_index = 0;
};

// Reads `path`; `text_column` may be empty (no references). A missing column, an empty audio
// cell, or an audio file that does not exist is an InputError naming the file, the line, the column
// and the path; an empty reference text is an error too (`what` names the command).
AsrManifest read_asr_manifest(const std::string& path, const std::string& audio_column,
                              const std::string& text_column, const std::string& format = "auto");

// WER/CER metrics: wer, cer, and the counts (words, substitutions, deletions, insertions,
// chars, char_errors) of normalised references and hypotheses.
eval::MetricSet asr_metrics(const eval::AsrScores& s);

// `nlpc eval --task asr`: transcribes every row of opts.data with the Whisper folder opts.model
// (greedy, no timestamps, temperature 0), scores it, logs test/wer and test/cer (with bootstrap
// intervals when opts.bootstrap > 0; `prefix` and `step` name the logged metrics), writes transcripts.csv and asr_scores.json into the run's
// artifacts. Returns the aggregate metrics (for gates).
eval::MetricSet run_asr_eval(const EvalCommandOptions& opts, runs::Run& run, const std::string& prefix = "test/",
                             int64_t step = 0);

// `nlpc predict --asr-model DIR --audio-column COL`: transcribes each row's audio into a
// `transcript` column (predicted_transcript when the input has one), then classifies it with
// opts.model as `nlpc predict --text-column transcript` does; every input column is kept.
// Rows are held in memory (transcription, not I/O, is the cost).
PredictStats run_predict_speech(const PredictOptions& opts);

struct TrainConfig;
// `nlpc train` with task: asr (src/app/train_asr.cpp). Returns the final step.
int64_t train_asr(const TrainConfig& cfg, runs::Run& run, bool resume);

}  // namespace nlpc
