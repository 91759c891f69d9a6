#include "nlpc/io/lines.h"

#include <cstring>

#include "nlpc/io/utf8.h"

namespace nlpc::io {

bool is_blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

LineReader::LineReader(const std::string& path, LineOptions options)
    : LineReader(InputSource(path), options) {}

LineReader::LineReader(InputSource source, LineOptions options)
    : options_(options), buf_(std::move(source), options.buffer_size) {
  skip_utf8_bom(buf_);
}

bool LineReader::next(std::string_view& line) {
  size_t scanned = 0;
  for (;;) {
    const char* s = buf_.data();
    const size_t n = buf_.size();
    const auto* nl = static_cast<const char*>(std::memchr(s + scanned, '\n', n - scanned));
    size_t len = 0;
    size_t take = 0;
    if (nl == nullptr) {
      if (!buf_.eof()) {
        scanned = n;
        buf_.fill();
        continue;
      }
      if (n == 0) return false;
      len = take = n;
    } else {
      len = static_cast<size_t>(nl - s);
      take = len + 1;
    }
    scanned = 0;
    ++line_;
    if (len > 0 && s[len - 1] == '\r') --len;
    last_ = std::string_view(s, len);
    const size_t bad = validate_utf8(s, len);
    buf_.consume(take);  // before throwing: a caller may catch the error and read on
    if (bad != len) {
      throw error_at_byte(
          bad, describe_invalid_utf8(s, len, bad) +
                   ": the input must be UTF-8 encoded (convert it first, e.g. iconv -f latin1 -t utf-8)");
    }
    if (options_.skip_blank && is_blank(last_)) continue;
    line = last_;
    return true;
  }
}

bool LineReader::next(std::string& line) {
  std::string_view v;
  if (!next(v)) return false;
  line.assign(v.data(), v.size());
  return true;
}

InputError LineReader::error_at_byte(size_t byte_offset, const std::string& what) const {
  if (byte_offset > last_.size()) byte_offset = last_.size();
  return InputError(name(), line_, utf8_column(last_.data(), byte_offset), what);
}

}  // namespace nlpc::io
