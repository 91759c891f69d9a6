// Rows of a data file with their text: column selection, joined text columns, blank-text policy,
// and windows of well-formed records for streaming prediction.
#include "nlpc/data/text_rows.h"

#include "nlpc/core/error.h"
#include "nlpc/core/strings.h"
#include "nlpc/core/log.h"
#include "nlpc/io/table.h"

namespace nlpc {

std::vector<size_t> text_column_indices(const io::TableReader& reader, const std::string& spec) {
  std::vector<size_t> out;
  size_t start = 0;
  while (true) {
    const size_t comma = spec.find(',', start);
    const std::string name = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    out.push_back(reader.column_index(name));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join_text_columns(const std::vector<std::string>& fields, const std::vector<size_t>& cols) {
  if (cols.size() == 1) return fields[cols[0]];
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i > 0) out += '\n';
    out += fields[cols[i]];
  }
  return out;
}

namespace {
io::TableOptions table_options(const std::string& format, const std::string& delimiter, size_t buffer_size) {
  io::TableOptions o;
  o.buffer_size = buffer_size;
  o.format = io::parse_table_format(format);
  if (!delimiter.empty()) o.delimiter = io::parse_delimiter(delimiter);
  return o;
}
}  // namespace

TextRows::TextRows(const std::string& path, const std::string& format, const std::string& delimiter,
                   const std::string& text_column, const std::string& empty_text, int64_t max_rows,
                   size_t buffer_size)
    : reader_(path, table_options(format, delimiter, buffer_size)),
      path_(path),
      text_column_(text_column),
      empty_text_(empty_text),
      text_cols_(text_column_indices(reader_, text_column)),
      max_rows_(max_rows) {}

bool TextRows::next(io::TableRecord& rec, std::string& text) {
  while (max_rows_ <= 0 || kept_ < max_rows_) {
    if (!reader_.next(rec)) return false;
    text = join_text_columns(rec.fields, text_cols_);
    if (!is_blank(text)) return true;
    if (empty_text_ == "fail") {
      throw reader_.error_at(text_cols_.front(), "empty text in column \"" + text_column_ +
                                                     "\" (set data.empty_text to \"skip\" to skip such rows)");
    }
    ++skipped_empty_;
    if (skipped_lines_.size() < 1000) skipped_lines_.push_back(rec.line);
  }
  return false;
}

void TextRows::finish() const {
  if (kept_ == 0) {
    throw InputError(path_, 0, 0,
                     skipped_empty_ > 0 ? "every row has an empty text column \"" + text_column_ + "\""
                                        : std::string("no data rows: expected at least one example"));
  }
  if (skipped_empty_ > 0) {
    spdlog::warn("{}: skipped {} row(s) with an empty text (first at line {})", path_, skipped_empty_,
                 skipped_lines_.front());
  }
}

bool read_window(io::TableReader& reader, size_t num_columns, size_t window, const std::string& on_error,
                 RowSkips& stats, std::vector<io::TableRecord>& rows) {
  rows.clear();
  while (rows.size() < window) {
    io::TableRecord rec;
    bool got = false;
    const int64_t before = reader.bytes_read();
    try {
      got = reader.next(rec);
    } catch (const InputError& e) {
      if (on_error != "skip" || reader.bytes_read() == before) throw;
      ++stats.skipped;
      if (stats.skipped_rows.size() < 1000) stats.skipped_rows.push_back(e.line());
      spdlog::warn("skipping malformed row: {}", e.what());
      continue;
    }
    if (!got) return false;
    if (rec.size() != num_columns) {
      if (on_error != "skip") {
        throw reader.error_at(rec.size(), "expected " + std::to_string(num_columns) + " fields, found " +
                                              std::to_string(rec.size()));
      }
      ++stats.skipped;
      if (stats.skipped_rows.size() < 1000) stats.skipped_rows.push_back(rec.line);
      spdlog::warn("skipping malformed row at line {}: expected {} fields, found {}", rec.line, num_columns,
                   rec.size());
      continue;
    }
    rows.push_back(std::move(rec));
  }
  return true;
}

}  // namespace nlpc
