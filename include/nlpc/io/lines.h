#pragma once
// Plain text, one record per line, streamed in chunks: LF or CRLF line ends (the CR is stripped),
// a UTF-8 byte-order mark at the start is skipped, every line is UTF-8 validated (InputError with
// file, line and character column). A final line without a newline is still a line; blank lines
// are returned unless `skip_blank` is set.
#include <cstdint>
#include <string>
#include <string_view>

#include "nlpc/core/error.h"
#include "nlpc/io/input.h"

namespace nlpc::io {

struct LineOptions {
  bool skip_blank = false;  // skip lines that are empty or only spaces/tabs
  size_t buffer_size = ChunkBuffer::kDefaultCapacity;
};

class LineReader {
 public:
  explicit LineReader(const std::string& path, LineOptions options = {});
  explicit LineReader(InputSource source, LineOptions options = {});

  // The next line without its line end; the view is valid until the next call.
  bool next(std::string_view& line);
  bool next(std::string& line);
  // 1-based number of the line last returned.
  int64_t line_number() const { return line_; }
  // Where the next line's reading starts (number is left 0), and back there.
  ReadPosition position() const { return {buf_.offset(), line_, 0}; }
  void seek(const ReadPosition& p) {
    buf_.seek(p.offset);
    line_ = p.line;
    last_ = {};
  }
  // An InputError at the last line; `byte_offset` (into that line) is turned into a character column.
  InputError error_at_byte(size_t byte_offset, const std::string& what) const;
  InputError error(const std::string& what) const { return InputError(name(), line_, 0, what); }

  const std::string& name() const { return buf_.source().name(); }
  int64_t bytes_read() const { return buf_.offset(); }
  int64_t input_size() const { return buf_.source().size(); }

 private:
  LineOptions options_;
  ChunkBuffer buf_;
  int64_t line_ = 0;
  std::string_view last_;
};

bool is_blank(std::string_view s);

}  // namespace nlpc::io
