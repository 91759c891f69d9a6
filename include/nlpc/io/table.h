#pragma once
// Format-agnostic record reading for predict/train/eval: CSV, TSV, JSON Lines or plain text,
// exposed as named columns and records of string fields, streamed with bounded memory.
//
// Formats (explicit, or from the extension: .csv, .tsv, .jsonl/.json/.ndjson, .txt):
//  - csv/tsv: the header row gives the columns (see csv.h for the rules).
//  - jsonl: one JSON object per line. The columns are the keys of the first object, in order.
//    Every later object must have exactly these keys (in any order): a new key is an error (it
//    would otherwise be silently dropped), a missing key is an error unless allow_ragged is set
//    (then it reads as ""). Values: strings as they are, null as "", numbers, booleans, arrays and
//    objects as compact JSON text (3, true, [1,2]). A file holding one JSON array is rejected
//    with a hint to convert it (jq -c '.[]'): it cannot be streamed.
//  - text: one column named "text", one record per line, blank lines kept (so outputs stay
//    aligned with input lines).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nlpc/core/error.h"
#include "nlpc/io/csv.h"

namespace nlpc::io {

enum class TableFormat { kAuto, kCsv, kTsv, kJsonl, kText };

// "auto", "csv", "tsv", "jsonl", "json", "ndjson", "txt", "text"; UsageError otherwise.
TableFormat parse_table_format(const std::string& name);
const char* table_format_name(TableFormat format);
// From the file extension; UsageError (asking for --format) when it is unknown or the path is "-".
TableFormat format_from_path(const std::string& path);

struct TableOptions {
  TableFormat format = TableFormat::kAuto;
  char delimiter = 0;         // 0: ',' for csv, '\t' for tsv
  bool quoting = true;        // csv/tsv: honour RFC 4180 quotes
  bool allow_ragged = false;  // csv: return rows with a wrong field count; jsonl: missing keys read as ""
  size_t buffer_size = ChunkBuffer::kDefaultCapacity;
};

// A record: ordered string fields (one per column), its starting line and its 1-based number.
using TableRecord = CsvRecord;

class TableReader {
 public:
  explicit TableReader(const std::string& path, TableOptions options = {});
  ~TableReader();
  TableReader(TableReader&&) noexcept;

  TableFormat format() const;
  const std::vector<std::string>& columns() const;
  // Index of the column `name`; throws InputError listing the columns that exist.
  size_t column_index(const std::string& name) const;
  int64_t find_column(const std::string& name) const;

  bool next(TableRecord& record);
  // Where the next record's reading starts, and back there: after seek(p), next() returns the
  // record that followed position() == p, with the same line and number (p must come from a reader
  // of the same file and format; streamed training re-reads its shuffle buffer this way).
  ReadPosition position() const;
  void seek(const ReadPosition& p);
  // An InputError pointing at field `field` of the record last returned (line and, for CSV, column).
  InputError error_at(size_t field, const std::string& what) const;

  const std::string& name() const;
  int64_t bytes_read() const;
  int64_t input_size() const;  // -1 when unknown (stdin)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct LabelledData {
  std::vector<std::string> texts;
  std::vector<std::string> labels;
  std::vector<int64_t> lines;  // line where each example starts, for later error messages
};

// Reads every (text, label) pair. Errors: a missing column (listing the existing ones), no data
// rows, an empty label (file, line, column). Empty texts are kept.
LabelledData read_labelled(const std::string& path, const std::string& text_column,
                           const std::string& label_column, const TableOptions& options = {});

}  // namespace nlpc::io
