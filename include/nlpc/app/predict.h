#pragma once
// `nlpc predict`: streaming batch classification of CSV/TSV/JSONL/text files.
//
// Rows are read in windows of `window` rows; inside a window, batches are formed by text length
// (for padding-based models) and results are written back in input order, so memory is bounded by
// the window whatever the file size. Every input column is kept, in order, and these are added:
//   label, score                  top-1 class and its probability (multi-label: the labels at or
//                                 above their threshold joined by ';', score = their mean probability)
//   top_labels, top_scores        with --top-k K > 1 (CSV: ';'-joined; JSONL: "top_k": [{label, score}])
//   prob_<label> ...              with --all-probs (JSONL: "probabilities": {label: p})
// When the input already has a column named like an added one, the added column is prefixed with
// "predicted_". Output is written to a temporary file renamed at the end ("-" = stdout).
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/io/table.h"

namespace nlpc {

struct PredictOptions {
  std::string model;
  std::string input = "-";
  std::string output = "-";
  std::string input_format = "auto";   // auto|csv|tsv|jsonl|txt
  std::string output_format = "auto";  // auto (from the output extension, else the input format)
  std::string text_column = "text";
  std::string pair_column;
  std::string delimiter;  // CSV input delimiter ("" = format default)
  int top_k = 1;
  bool all_probs = false;
  double threshold = -1;  // multi-label: < 0 = the model's tuned thresholds (0.5 when none)
  int batch_size = 0;     // 0 = the model's default
  int window = 0;         // rows buffered for length batching; 0 = 64 batches
  std::string on_error = "fail";  // fail | skip (malformed rows)
  std::string device = "cpu";
  // Speech input (src/app/asr.cpp): transcribe `audio_column` with this Whisper folder into a
  // `transcript` column, then classify the transcript.
  std::string asr_model;
  std::string audio_column = "audio";
  std::string asr_language;  // empty: the Whisper model's generation_config language, else auto
};

struct PredictStats {
  int64_t rows = 0;     // rows predicted
  int64_t skipped = 0;  // malformed rows skipped
  std::vector<int64_t> skipped_rows;  // their record numbers (first 1000)
  double seconds = 0;
};

PredictStats run_predict(const PredictOptions& opts);

// Reads up to `window` records into `rows` (cleared first). Malformed records (unparseable, or
// not `num_columns` fields) throw, or with on_error "skip" are counted in `stats` and logged.
// Returns false once the input is exhausted (rows may still hold the last records).
bool read_window(io::TableReader& reader, size_t num_columns, size_t window, const std::string& on_error,
                 PredictStats& stats, std::vector<io::TableRecord>& rows);

}  // namespace nlpc
