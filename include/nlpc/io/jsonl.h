#pragma once
// JSON Lines: one JSON value per line (https://jsonlines.org). The reader streams lines through
// LineReader (UTF-8 validated, CRLF accepted, blank lines skipped) and parses each with nlohmann's
// ordered_json, so object keys keep their order; a parse error becomes an InputError with the file,
// the line and the character column. The writer emits one compact value per line through
// AtomicFile (temporary + rename on commit()) and flushes every N rows or every second.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "nlpc/io/flush.h"
#include "nlpc/core/fs.h"
#include "nlpc/io/lines.h"

namespace nlpc::io {

class JsonlReader {
 public:
  explicit JsonlReader(const std::string& path, size_t buffer_size = ChunkBuffer::kDefaultCapacity);
  explicit JsonlReader(InputSource source, size_t buffer_size = ChunkBuffer::kDefaultCapacity);

  // Parses the next non-blank line into `value`. Returns false at end of input.
  bool next(nlohmann::ordered_json& value);
  // Line of the value last returned.
  int64_t line_number() const { return lines_.line_number(); }
  ReadPosition position() const { return lines_.position(); }
  void seek(const ReadPosition& p) { lines_.seek(p); }
  InputError error(const std::string& what) const { return lines_.error(what); }
  const std::string& name() const { return lines_.name(); }
  int64_t bytes_read() const { return lines_.bytes_read(); }
  int64_t input_size() const { return lines_.input_size(); }

 private:
  LineReader lines_;
};

struct JsonlWriterOptions {
  int64_t flush_every_rows = 1000;
  double flush_every_seconds = 1.0;
};

class JsonlWriter {
 public:
  explicit JsonlWriter(const std::string& path, JsonlWriterOptions options = {});
  void write(const nlohmann::ordered_json& value);
  void write(const nlohmann::json& value);
  void flush();
  // Flushes, fsyncs and renames into place. Without commit() the output is discarded.
  void commit();
  // Bytes written as they are (rows formatted elsewhere), and capture of what is written (AtomicFile).
  void write_raw(const std::string& bytes) { file_.write(bytes); }
  void capture(std::string* buffer) { file_.capture(buffer); }
  int64_t rows() const { return rows_; }

 private:
  void write_line(const std::string& text);

  JsonlWriterOptions options_;
  AtomicFile file_;
  int64_t rows_ = 0;
  PeriodicFlush flush_policy_;
};

// The message of a nlohmann parse_error without its "[json.exception...] parse error at ..." prefix.
std::string json_error_detail(const std::string& what);

}  // namespace nlpc::io
