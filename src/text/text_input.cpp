// Inputs of `nlpc tokenize` / `nlpc tokenize train`: CSV/TSV (header row, columns by name) and JSONL
// through src/io's streaming readers, or plain text lines (also standard input, "-").
#include "nlpc/core/error.h"
#include "nlpc/io/table.h"
#include "nlpc/text/text_input.h"

namespace nlpc::text {

InputTexts read_input_texts(const std::string& path, const std::string& column, const std::string& pair_column) {
  io::TableOptions o;
  o.format = io::TableFormat::kText;
  if (path != "-") {
    try {
      o.format = io::format_from_path(path);
    } catch (const UsageError&) {
      o.format = io::TableFormat::kText;  // any other extension: plain text lines
    }
  }
  const bool plain = o.format == io::TableFormat::kText;
  if (plain && !pair_column.empty()) {
    throw UsageError("--pair-column needs a .csv, .tsv or .jsonl --input; " + path + " is read as plain text lines");
  }
  io::TableReader reader(path, o);
  const size_t ti = plain ? 0 : reader.column_index(column);
  const size_t pi = pair_column.empty() ? 0 : reader.column_index(pair_column);
  InputTexts rows;
  io::TableRecord rec;
  while (reader.next(rec)) {
    rows.text.push_back(rec.fields[ti]);
    if (!pair_column.empty()) rows.pair.push_back(rec.fields[pi]);
  }
  return rows;
}

}  // namespace nlpc::text
