#pragma once
// Summarization data: text/target pairs, read through TextRows.
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/data/spec.h"

namespace nlpc {

// Text/target pairs read from CSV/TSV/JSONL.
struct SummarySet {
  std::string file;
  std::vector<std::string> texts, targets;
  std::vector<int64_t> lines;
  int64_t skipped_empty = 0;  // rows with an empty text (skipped with empty_text "skip")
  int64_t skipped_empty_target = 0;  // rows with an empty target (skipped with empty_target "skip")
};

// Reads text and target columns. A missing column is an InputError listing the columns; an empty
// target is an InputError naming file, line and column; empty texts are skipped (or an error).
SummarySet read_summary_set(const std::string& path, const DataSpec& spec);

}  // namespace nlpc
