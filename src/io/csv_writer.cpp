#include "nlpc/io/csv.h"

namespace nlpc::io {

CsvWriter::CsvWriter(const std::string& path, CsvWriterOptions options)
    : options_(options), file_(path), flush_policy_(options.flush_every_rows, options.flush_every_seconds) {
  if (options_.delimiter == '"' || options_.delimiter == '\n' || options_.delimiter == '\r') {
    throw UsageError("invalid CSV delimiter: a quote or newline cannot separate fields");
  }
}

bool CsvWriter::needs_quotes(std::string_view field, char delimiter, bool quote_spaces) {
  for (char c : field) {
    if (c == delimiter || c == '"' || c == '\n' || c == '\r') return true;
  }
  if (quote_spaces && !field.empty() && (field.front() == ' ' || field.back() == ' ')) return true;
  return false;
}

void CsvWriter::append_field(std::string& out, std::string_view field, char delimiter, bool quote_spaces) {
  if (!needs_quotes(field, delimiter, quote_spaces)) {
    out.append(field.data(), field.size());
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

template <typename It>
void CsvWriter::write_fields(It begin, It end) {
  line_.clear();
  const bool single = std::next(begin) == end;
  for (It it = begin; it != end; ++it) {
    if (it != begin) line_.push_back(options_.delimiter);
    const std::string_view f(*it);
    if (single && f.empty()) {
      line_ += "\"\"";  // a bare empty line would be skipped as blank by readers
    } else {
      append_field(line_, f, options_.delimiter, options_.quote_spaces);
    }
  }
  end_row();
}

void CsvWriter::write_row(const std::vector<std::string>& fields) {
  if (fields.empty()) throw RuntimeError("CsvWriter: a row needs at least one field");
  write_fields(fields.begin(), fields.end());
}

void CsvWriter::write_row(const std::vector<std::string_view>& fields) {
  if (fields.empty()) throw RuntimeError("CsvWriter: a row needs at least one field");
  write_fields(fields.begin(), fields.end());
}

void CsvWriter::write_row(std::initializer_list<std::string_view> fields) {
  if (fields.size() == 0) throw RuntimeError("CsvWriter: a row needs at least one field");
  write_fields(fields.begin(), fields.end());
}

void CsvWriter::end_row() {
  line_ += options_.crlf ? "\r\n" : "\n";
  file_.write(line_);
  ++rows_;
  if (flush_policy_.row_written()) flush();
}

void CsvWriter::flush() {
  file_.flush();
  flush_policy_.flushed();
}

void CsvWriter::commit() { file_.commit(); }

}  // namespace nlpc::io
