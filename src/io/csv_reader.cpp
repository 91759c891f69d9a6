#include <algorithm>
#include <cctype>
#include <cstring>
#include <unordered_map>

#include "nlpc/io/csv.h"
#include "nlpc/io/utf8.h"
#include "table_util.h"

namespace nlpc::io {
namespace {

constexpr char kQuote = '"';

// "'x'" for printable ASCII, the character itself for other valid UTF-8, hex bytes otherwise.
std::string describe_char(const char* p, size_t avail) {
  const auto c = static_cast<unsigned char>(p[0]);
  if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
  if (c == '\t') return "a tab";
  size_t len = 1;
  while (len < avail && len < 4 && (static_cast<unsigned char>(p[len]) & 0xC0) == 0x80) ++len;
  if (c >= 0xC2 && validate_utf8(p, len) == len) return "'" + std::string(p, len) + "'";
  return describe_invalid_utf8(p, avail, 0);
}

}  // namespace

char parse_delimiter(const std::string& text) {
  if (text == "\\t" || text == "\t" || text == "tab" || text == "TAB") return '\t';
  if (text == "comma") return ',';
  if (text == "semicolon") return ';';
  if (text == "pipe") return '|';
  if (text.size() != 1 || text[0] == '"' || text[0] == '\n' || text[0] == '\r' ||
      static_cast<unsigned char>(text[0]) >= 0x80) {
    throw UsageError("invalid --delimiter '" + text +
                     "': expected one ASCII character other than a quote or newline, or \\t, tab, "
                     "comma, semicolon, pipe");
  }
  return text[0];
}

CsvReader::CsvReader(const std::string& path, CsvOptions options) : CsvReader(InputSource(path), options) {}

CsvReader::CsvReader(InputSource source, CsvOptions options)
    : options_(options), buf_(std::move(source), options.buffer_size) {
  special_[static_cast<unsigned char>(options_.delimiter)] = true;
  special_[static_cast<unsigned char>('\n')] = true;
  special_[static_cast<unsigned char>('\r')] = true;
  skip_utf8_bom(buf_);
  read_header();
}

void CsvReader::read_header() {
  CsvRecord rec;
  if (!read_record(rec)) {
    throw InputError(name(), 0, 0, "the file is empty: expected a header row with the column names");
  }
  header_ = std::move(rec.fields);
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i].empty()) continue;
    auto [it, inserted] = seen.emplace(header_[i], i);
    if (!inserted) {
      throw error_at(i, "duplicate column name \"" + header_[i] + "\" (columns " +
                            std::to_string(it->second + 1) + " and " + std::to_string(i + 1) +
                            "): column names must be unique");
    }
  }
  header_line_ = record_line_;
  in_header_ = false;
}

int64_t CsvReader::find_column(const std::string& name) const {
  if (name.empty()) return -1;
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return static_cast<int64_t>(i);
  }
  return -1;
}

size_t CsvReader::column_index(const std::string& col) const {
  const int64_t i = find_column(col);
  if (i >= 0) return static_cast<size_t>(i);
  throw InputError(name(), header_line_, 0, missing_column_message(col, header_));
}

bool CsvReader::next(CsvRecord& record) {
  if (!read_record(record)) return false;
  record.line = record_line_;
  record.number = ++records_;
  if (record.size() != header_.size() && !options_.allow_ragged) throw ragged_error();
  return true;
}

void CsvReader::seek(const ReadPosition& p) {
  buf_.seek(p.offset);
  line_ = p.line;
  records_ = p.number;
  raw_ = nullptr;
  raw_size_ = 0;
  field_offsets_.clear();
}

bool CsvReader::read_record(CsvRecord& record) {
  for (;;) {
    record_line_ = line_;
    size_t consumed = 0;
    switch (parse(buf_.data(), buf_.size(), record, consumed)) {
      case Parse::kNeedMore:
        buf_.fill();
        continue;
      case Parse::kEnd:
        return false;
      case Parse::kBlank:
        buf_.consume(consumed);
        ++line_;
        continue;
      case Parse::kRecord:
        finish_record(buf_.data(), consumed, record);
        return true;
    }
  }
}

void CsvReader::finish_record(const char* s, size_t consumed, CsvRecord& record) {
  raw_ = s;
  raw_size_ = consumed;
  last_size_ = record.size();
  const size_t bad = validate_utf8(s, consumed);
  line_ += static_cast<int64_t>(parsed_newlines_);
  buf_.consume(consumed);  // before throwing: a caller may catch the error and read on
  if (bad != consumed) {
    if (!in_header_) ++records_;
    const auto [line, col] = locate(s, bad);
    throw InputError(
        name(), line, col,
        describe_invalid_utf8(s, consumed, bad) +
            ": the input must be UTF-8 encoded (convert it first, e.g. iconv -f latin1 -t utf-8)");
  }
}

// Parses one record starting at s (n bytes available). Never consumes: reports how many bytes the
// record took, or kNeedMore when it runs off the end of the buffer before the input ended.
CsvReader::Parse CsvReader::parse(const char* s, size_t n, CsvRecord& rec, size_t& consumed) {
  const bool eof = buf_.eof();
  if (n == 0) return eof ? Parse::kEnd : Parse::kNeedMore;
  if (s[0] == '\n') return consumed = 1, Parse::kBlank;
  if (s[0] == '\r') {
    if (n < 2) return eof ? (consumed = 1, Parse::kBlank) : Parse::kNeedMore;
    if (s[1] == '\n') return consumed = 2, Parse::kBlank;
  }
  size_t nf = 0;
  size_t i = 0;
  parsed_newlines_ = 0;
  field_offsets_.clear();
  for (;;) {
    if (nf == rec.fields.size()) rec.fields.emplace_back();
    std::string& f = rec.fields[nf++];
    field_offsets_.push_back(i);
    if (options_.quoting && i < n && s[i] == kQuote) {
      if (!parse_quoted(s, n, i, f, eof)) return Parse::kNeedMore;
    } else {
      size_t j = i;
      while (j < n && !special_[static_cast<unsigned char>(s[j])]) ++j;
      if (j == n && !eof) return Parse::kNeedMore;
      f.assign(s + i, j - i);
      i = j;
    }
    const After after = after_field(s, n, i, consumed, eof);
    if (after == After::kNeedMore) return Parse::kNeedMore;
    if (after == After::kEndOfRecord) break;
  }
  rec.fields.resize(nf);
  return Parse::kRecord;
}

// Reads the quoted field opening at s[i] into f, undoubling quotes; i ends just past the closing
// quote. Returns false when the buffer ends first (and the input has not).
bool CsvReader::parse_quoted(const char* s, size_t n, size_t& i, std::string& f, bool eof) {
  const size_t open = i++;
  f.clear();
  for (;;) {
    const auto* q = static_cast<const char*>(std::memchr(s + i, kQuote, n - i));
    if (q == nullptr) {
      if (!eof) return false;
      fail_at(s, open,
              "unterminated quoted field: the quote opened here is not closed before the end of the file");
    }
    const size_t j = static_cast<size_t>(q - s);
    f.append(s + i, j - i);
    parsed_newlines_ += static_cast<size_t>(std::count(s + i, s + j, '\n'));
    i = j + 1;
    if (i == n && !eof) return false;
    if (i == n || s[i] != kQuote) return true;
    f.push_back(kQuote);  // "" inside quotes
    ++i;
  }
}

// Looks at s[i], just past a field: a delimiter (i moves past it), the end of the line or of the
// input (sets consumed), or something that is an error there.
CsvReader::After CsvReader::after_field(const char* s, size_t n, size_t& i, size_t& consumed, bool eof) {
  if (i == n) {
    consumed = n;  // end of input (parse() asked for more bytes otherwise)
    return After::kEndOfRecord;
  }
  const char c = s[i];
  if (c == options_.delimiter) {
    ++i;
    return After::kNextField;
  }
  if (c == '\n') {
    consumed = i + 1;
    ++parsed_newlines_;
    return After::kEndOfRecord;
  }
  if (c == '\r') {
    if (i + 1 == n) {
      if (!eof) return After::kNeedMore;
      consumed = n;
      return After::kEndOfRecord;
    }
    if (s[i + 1] == '\n') {
      consumed = i + 2;
      ++parsed_newlines_;
      return After::kEndOfRecord;
    }
    fail_at(s, i,
            "carriage return (CR) not followed by a line feed: lines must end with LF or CRLF "
            "(quote fields that contain a CR)");
  }
  fail_at(s, i,
          "unexpected " + describe_char(s + i, n - i) +
              " after the closing quote of a quoted field: expected " +
              describe_delimiter(options_.delimiter) +
              " or the end of the line (write a quote inside a quoted field as \"\")");
}

std::pair<int64_t, int64_t> CsvReader::locate(const char* record_start, size_t offset) const {
  int64_t line = record_line_;
  size_t line_start = 0;
  for (size_t k = 0; k < offset; ++k) {
    if (record_start[k] == '\n') {
      ++line;
      line_start = k + 1;
    }
  }
  return {line, utf8_column(record_start + line_start, offset - line_start)};
}

void CsvReader::fail_at(const char* record_start, size_t offset, const std::string& what) const {
  const auto [line, col] = locate(record_start, offset);
  throw InputError(name(), line, col, what);
}

std::pair<int64_t, int64_t> CsvReader::field_location(size_t field) const {
  if (raw_ == nullptr) return {record_line_, 0};
  if (field >= field_offsets_.size()) {
    // Just past the last field: where the missing delimiter was expected.
    size_t end = raw_size_;
    while (end > 0 && (raw_[end - 1] == '\n' || raw_[end - 1] == '\r')) --end;
    return locate(raw_, end);
  }
  return locate(raw_, field_offsets_[field]);
}

InputError CsvReader::error_at(size_t field, const std::string& what) const {
  const auto [line, col] = field_location(field);
  return InputError(name(), line, col, what);
}

InputError CsvReader::ragged_error() const {
  const size_t want = header_.size();
  const std::string what = "expected " + std::to_string(want) + " field" + (want == 1 ? "" : "s") +
                           " as in the header, found " + std::to_string(last_size_);
  if (last_size_ > want) {
    return error_at(want,
                    what + " (quote fields that contain " + describe_delimiter(options_.delimiter) + ")");
  }
  return error_at(last_size_, what);
}

}  // namespace nlpc::io
