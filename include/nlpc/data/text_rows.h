#pragma once
// The rows of a data file that carry a text: the one reader under labelled, summarization and
// prediction data (src/data/text_rows.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/core/strings.h"
#include "nlpc/io/table.h"

namespace nlpc {

// `text_column` may name several columns separated by commas ("summary,text"): their values are
// joined with a newline, in that order, into the model's input text (train, eval and predict alike).
std::vector<size_t> text_column_indices(const io::TableReader& reader, const std::string& text_column);
std::string join_text_columns(const std::vector<std::string>& fields, const std::vector<size_t>& cols);

// The rows of a data file that have a text (labelled data for classifiers, text/target pairs for
// summarizers): next() gives each row with its text columns joined; a row whose text is blank is
// skipped and counted (empty_text "skip") or an InputError naming file, line and column ("fail").
// The caller calls keep() for each row it keeps; next() stops after max_rows kept rows (0 = all).
// finish() throws an InputError when no row was kept, and warns about the skipped ones.
class TextRows {
 public:
  TextRows(const std::string& path, const std::string& format, const std::string& delimiter,
           const std::string& text_column, const std::string& empty_text, int64_t max_rows,
           size_t buffer_size = io::ChunkBuffer::kDefaultCapacity);
  io::TableReader& reader() { return reader_; }
  bool next(io::TableRecord& rec, std::string& text);
  void keep() { ++kept_; }
  // Where the next row's reading starts, and back there with `kept` rows counted as kept before it.
  io::ReadPosition position() const { return reader_.position(); }
  void seek(const io::ReadPosition& p, int64_t kept) {
    reader_.seek(p);
    kept_ = kept;
  }
  void finish() const;
  int64_t skipped_empty() const { return skipped_empty_; }
  const std::vector<int64_t>& skipped_lines() const { return skipped_lines_; }  // the first 1,000

 private:
  io::TableReader reader_;
  std::string path_, text_column_, empty_text_;
  std::vector<size_t> text_cols_;
  int64_t max_rows_ = 0, kept_ = 0, skipped_empty_ = 0;
  std::vector<int64_t> skipped_lines_;
};

// Malformed rows skipped by read_window (on_error "skip").
struct RowSkips {
  int64_t skipped = 0;
  std::vector<int64_t> skipped_rows;  // their record numbers (first 1000)
};

// Reads up to `window` records into `rows` (cleared first). Malformed records (unparseable, or
// not `num_columns` fields) throw, or with on_error "skip" are counted in `stats` and logged.
// Returns false once the input is exhausted (rows may still hold the last records).
bool read_window(io::TableReader& reader, size_t num_columns, size_t window, const std::string& on_error,
                 RowSkips& stats, std::vector<io::TableRecord>& rows);

}  // namespace nlpc
