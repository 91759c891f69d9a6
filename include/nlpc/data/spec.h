#pragma once
// Where the columns of a data file are and what to do with blank cells: one struct for every
// reader of labelled, summarization and speech data. It is the `data` section of the training
// configuration (TrainConfig::data derives from it, the schema keys bind straight to its fields)
// and what `nlpc eval`'s column flags fill.
#include <cstdint>
#include <string>

namespace nlpc {

struct DataSpec {
  std::string format = "auto";      // auto (from the extension) | csv | tsv | jsonl
  std::string delimiter;            // "" = the format's
  std::string text_column = "text"; // several separated by commas are joined with a newline
  std::string pair_column;          // classification: optional second text
  std::string label_column = "label";
  bool multilabel = false;          // classification: label sets (the config's task "multilabel")
  std::string label_separator = ";";
  std::string target_column = "summary";  // summarization: reference summary
  std::string empty_target = "fail";      // summarization: rows with an empty target: fail | skip
  std::string audio_column = "audio";     // speech: audio path (relative to the file's folder)
  std::string empty_text = "skip";  // skip | fail
  int64_t max_rows = 0;             // 0 = all
};

}  // namespace nlpc
