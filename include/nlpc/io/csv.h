#pragma once
// Streaming CSV (RFC 4180) reader and writer.
//
// Reader behaviour (decisions documented here, tested in tests/unit/test_csv.cpp):
//  - Fields may be quoted with '"'; inside quotes the delimiter, CR, LF and doubled quotes ("")
//    are data. Records end with LF or CRLF (a bare CR outside quotes is an error).
//  - A UTF-8 byte-order mark at the start of the input is skipped. Every record is UTF-8 validated.
//  - The first record is the header. Column names must be unique (a duplicate is an error naming
//    both positions); an empty name is allowed (pandas writes one for its index) but such a column
//    cannot be selected by name.
//  - Completely empty lines outside quotes are skipped (as pandas does), but still counted in line
//    numbers. A quote inside an unquoted field (5" screen) is kept as data, as Python's csv does.
//  - Every record must have as many fields as the header, unless `allow_ragged` is set: then the
//    record is returned and the caller decides (record.size(), CsvReader::ragged_error()).
//  - Memory is bounded by the buffer (1 MiB) plus the largest record.
//  - Errors are InputError("file", line, column, what) with 1-based physical line and 1-based
//    column counted in UTF-8 characters. After a ragged-row or invalid-UTF-8 error the reader is
//    positioned after the bad record, so a caller may catch the error and go on (--on-error skip);
//    after a quoting error (unterminated quote, text after a closing quote, bare CR) it is not.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nlpc/io/flush.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/io/input.h"

namespace nlpc::io {

struct CsvOptions {
  char delimiter = ',';
  bool quoting = true;        // false: '"' is ordinary data (for unquoted TSV exports)
  bool allow_ragged = false;  // return records whose field count differs from the header's
  size_t buffer_size = ChunkBuffer::kDefaultCapacity;
};

// Parses a --delimiter value: one character, or the escapes "\t", "tab", "comma", "semicolon",
// "pipe". Throws UsageError otherwise (quotes, CR and LF are not allowed).
char parse_delimiter(const std::string& text);

struct CsvRecord {
  std::vector<std::string> fields;
  int64_t line = 0;    // 1-based physical line where the record starts
  int64_t number = 0;  // 1-based record number, header excluded
  size_t size() const { return fields.size(); }
  const std::string& operator[](size_t i) const { return fields[i]; }
};

class CsvReader {
 public:
  // path "-" reads standard input. Reads the header immediately; throws InputError for an empty
  // input, a malformed header or duplicate column names.
  explicit CsvReader(const std::string& path, CsvOptions options = {});
  explicit CsvReader(InputSource source, CsvOptions options = {});

  const std::vector<std::string>& header() const { return header_; }
  // Index of the column named `name`; throws InputError listing the columns that exist.
  size_t column_index(const std::string& name) const;
  // -1 when there is no such column.
  int64_t find_column(const std::string& name) const;

  // Reads the next record into `record` (its strings are reused). Returns false at end of input.
  bool next(CsvRecord& record);
  // Where the next record's reading starts; seek() to a position of the same file reads on from
  // there (records and line numbers as the first time).
  ReadPosition position() const { return {buf_.offset(), line_, records_}; }
  void seek(const ReadPosition& p);

  // Location (line, column) of field `field` of the record last returned by next(); for a field
  // past the end of the record, where it was expected. Valid until the next call to next().
  std::pair<int64_t, int64_t> field_location(size_t field) const;
  // An InputError pointing at field `field` of the last record.
  InputError error_at(size_t field, const std::string& what) const;
  // The "expected N fields, found M" error for the last record (for allow_ragged callers).
  InputError ragged_error() const;

  const std::string& name() const { return buf_.source().name(); }
  int64_t bytes_read() const { return buf_.offset(); }
  int64_t input_size() const { return buf_.source().size(); }
  const CsvOptions& options() const { return options_; }

 private:
  enum class Parse { kRecord, kBlank, kNeedMore, kEnd };
  void read_header();
  bool read_record(CsvRecord& record);
  enum class After { kNextField, kEndOfRecord, kNeedMore };
  Parse parse(const char* s, size_t n, CsvRecord& record, size_t& consumed);
  bool parse_quoted(const char* s, size_t n, size_t& i, std::string& field, bool eof);
  After after_field(const char* s, size_t n, size_t& i, size_t& consumed, bool eof);
  [[noreturn]] void fail_at(const char* record_start, size_t offset, const std::string& what) const;
  std::pair<int64_t, int64_t> locate(const char* record_start, size_t offset) const;
  void finish_record(const char* s, size_t consumed, CsvRecord& record);

  CsvOptions options_;
  ChunkBuffer buf_;
  std::vector<std::string> header_;
  bool special_[256] = {};
  int64_t line_ = 1;           // physical line of the next unparsed byte
  int64_t records_ = 0;        // data records returned
  int64_t record_line_ = 0;    // line where the last record started
  const char* raw_ = nullptr;  // last record's bytes (in buf_), valid until next()
  size_t raw_size_ = 0;
  size_t last_size_ = 0;
  std::vector<size_t> field_offsets_;  // byte offset of each field of the last record in raw_
  size_t parsed_newlines_ = 0;
  int64_t header_line_ = 1;
  bool in_header_ = true;
};

struct CsvWriterOptions {
  char delimiter = ',';
  bool quote_spaces = false;  // also quote fields with leading or trailing spaces
  bool crlf = false;          // "\r\n" line endings (RFC 4180) instead of "\n"
  int64_t flush_every_rows = 1000;
  double flush_every_seconds = 1.0;
};

// Writes a CSV file through AtomicFile (temporary + rename on commit(); "-" is stdout). Fields are
// quoted only when needed: delimiter, quote, CR or LF inside, (optionally) outer spaces, or a
// single empty field, which would otherwise be a blank line that readers skip.
class CsvWriter {
 public:
  explicit CsvWriter(const std::string& path, CsvWriterOptions options = {});
  void write_row(const std::vector<std::string>& fields);
  void write_row(const std::vector<std::string_view>& fields);
  void write_row(std::initializer_list<std::string_view> fields);
  // Flushes, fsyncs and renames into place. Without commit() the output is discarded.
  void commit();
  // Bytes written as they are (rows formatted elsewhere), and capture of what is written (AtomicFile).
  void write_raw(const std::string& bytes) { file_.write(bytes); }
  void capture(std::string* buffer) { file_.capture(buffer); }
  void flush();
  int64_t rows() const { return rows_; }
  // Appends one field, quoted when needed, to `out` (no delimiter).
  static void append_field(std::string& out, std::string_view field, char delimiter, bool quote_spaces);
  static bool needs_quotes(std::string_view field, char delimiter, bool quote_spaces);

 private:
  template <typename It>
  void write_fields(It begin, It end);
  void end_row();

  CsvWriterOptions options_;
  AtomicFile file_;
  std::string line_;
  int64_t rows_ = 0;
  PeriodicFlush flush_policy_;
};

}  // namespace nlpc::io
