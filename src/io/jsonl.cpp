#include "nlpc/io/jsonl.h"

namespace nlpc::io {

std::string json_error_detail(const std::string& what) {
  // e.g. "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error while ..."
  const size_t col = what.find("column ");
  size_t start = col == std::string::npos ? std::string::npos : what.find(": ", col);
  if (start == std::string::npos) {
    start = what.find("] ");
    return start == std::string::npos ? what : what.substr(start + 2);
  }
  return what.substr(start + 2);
}

JsonlReader::JsonlReader(const std::string& path, size_t buffer_size)
    : JsonlReader(InputSource(path), buffer_size) {}

JsonlReader::JsonlReader(InputSource source, size_t buffer_size)
    : lines_(std::move(source), LineOptions{true, buffer_size}) {}

bool JsonlReader::next(nlohmann::ordered_json& value) {
  std::string_view line;
  if (!lines_.next(line)) return false;
  try {
    value = nlohmann::ordered_json::parse(line.begin(), line.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte: 1-based index of the character that stopped the parser (size + 1 at the end).
    const size_t offset = e.byte > 0 ? static_cast<size_t>(e.byte - 1) : 0;
    std::string what = "invalid JSON: " + json_error_detail(e.what());
    if (offset >= line.size()) {
      what += " (each line must hold one complete JSON value; pretty-printed JSON is not JSON Lines)";
    }
    throw lines_.error_at_byte(offset, what);
  }
  return true;
}

JsonlWriter::JsonlWriter(const std::string& path, JsonlWriterOptions options)
    : options_(options), file_(path), flush_policy_(options.flush_every_rows, options.flush_every_seconds) {}

namespace {

template <typename Json>
std::string dump_checked(const Json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::type_error& e) {  // invalid UTF-8 in a string
    throw RuntimeError(std::string("cannot write JSON: ") + e.what());
  }
}

}  // namespace

void JsonlWriter::write(const nlohmann::ordered_json& value) { write_line(dump_checked(value)); }
void JsonlWriter::write(const nlohmann::json& value) { write_line(dump_checked(value)); }

void JsonlWriter::write_line(const std::string& text) {
  file_.write(text);
  file_.write("\n", 1);
  ++rows_;
  if (flush_policy_.row_written()) flush();
}

void JsonlWriter::flush() {
  file_.flush();
  flush_policy_.flushed();
}

void JsonlWriter::commit() { file_.commit(); }

}  // namespace nlpc::io
