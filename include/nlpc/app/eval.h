#pragma once
// `nlpc eval --model DIR --data FILE`: scores a classifier on labelled data, with bootstrap
// confidence intervals, the most confident mistakes, and CI gates (exit 3 when one fails).
// The evaluation is recorded as a run (metrics logged as test/<metric>, artifacts as in training).
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/runs/run.h"

namespace nlpc {

struct EvalCommandOptions {
  std::string model;
  std::string data;
  std::string format = "auto";
  std::string delimiter;
  std::string text_column = "text";
  std::string pair_column;
  std::string label_column = "label";
  std::string label_separator = ";";
  std::string empty_text = "skip";
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
  std::string metrics_output;  // optional: write the metrics JSON here
  // task "asr": --model is a Whisper folder, --data a manifest of recordings (src/app/asr.cpp)
  std::string task = "classification";
  std::string audio_column = "audio";  // asr: audio path column (relative to the data file's folder)
  std::string language;               // asr: language for decoding, or auto; empty: the model's, else auto
  bool asr_normalize = true;           // asr: lower-case and strip punctuation before scoring
  runs::RunOptions run;
};

int run_eval(const EvalCommandOptions& opts);

}  // namespace nlpc
