// Inputs of `nlpc tokenize` / `nlpc tokenize train`: plain text lines, CSV (RFC 4180 with a header
// row) or JSONL. The CSV part is a small self-contained reader; switch it to src/io's CSV reader
// once that lands (only read_csv_columns below needs to change).
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/text/tokenize_cmd.h"

namespace nlpc::text {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Parses RFC 4180 CSV and returns the values of the named columns.
void read_csv_columns(const std::string& path, const std::string& column, const std::string& pair_column,
                      TextRows& rows) {
  std::string data = read_file(path);
  size_t i = 0;
  int64_t line = 1;
  auto record = [&](std::vector<std::string>& fields) -> bool {
    fields.clear();
    if (i >= data.size()) return false;
    std::string field;
    bool quoted = false, was_quoted = false;
    int64_t start_line = line;
    while (i < data.size()) {
      char c = data[i];
      if (quoted) {
        if (c == '"') {
          if (i + 1 < data.size() && data[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          quoted = false;
          ++i;
          continue;
        }
        if (c == '\n') ++line;
        field += c;
        ++i;
        continue;
      }
      if (c == '"' && field.empty() && !was_quoted) {
        quoted = was_quoted = true;
        ++i;
      } else if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
        was_quoted = false;
        ++i;
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
        ++i;
        ++line;
        break;
      } else {
        field += c;
        ++i;
      }
    }
    if (quoted) throw InputError(path, start_line, 0, "unterminated quoted field; expected a closing '\"'");
    fields.push_back(std::move(field));
    return true;
  };
  std::vector<std::string> header, fields;
  if (!record(header)) throw InputError(path, 1, 0, "is empty; expected a CSV header row");
  auto find = [&](const std::string& name) -> int {
    for (size_t k = 0; k < header.size(); ++k)
      if (header[k] == name) return static_cast<int>(k);
    std::string cols;
    for (const auto& h : header) cols += (cols.empty() ? "" : ", ") + h;
    throw InputError(path, 1, 0, "has no column '" + name + "' (columns: " + cols + "); use --column");
  };
  int c1 = find(column), c2 = pair_column.empty() ? -1 : find(pair_column);
  while (true) {
    int64_t at = line;
    if (!record(fields)) break;
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (fields.size() != header.size())
      throw InputError(path, at, 0, "has " + std::to_string(fields.size()) + " fields; the header has " +
                                        std::to_string(header.size()));
    rows.text.push_back(std::move(fields[static_cast<size_t>(c1)]));
    if (c2 >= 0) rows.pair.push_back(std::move(fields[static_cast<size_t>(c2)]));
  }
}

void read_jsonl(const std::string& path, const std::string& column, const std::string& pair_column, TextRows& rows) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, 0, 0, "cannot open file");
  std::string line;
  int64_t n = 0;
  while (std::getline(f, line)) {
    ++n;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(path, n, 0, std::string("invalid JSON: ") + e.what());
    }
    auto get = [&](const std::string& key) {
      if (!j.is_object() || !j.contains(key) || !j[key].is_string())
        throw InputError(path, n, 0, "expected a string field \"" + key + "\"");
      return j[key].get<std::string>();
    };
    rows.text.push_back(get(column));
    if (!pair_column.empty()) rows.pair.push_back(get(pair_column));
  }
}

}  // namespace

TextRows read_text_rows(const std::string& path, const std::string& column, const std::string& pair_column) {
  TextRows rows;
  if (ends_with(path, ".csv")) {
    read_csv_columns(path, column, pair_column, rows);
  } else if (ends_with(path, ".jsonl") || ends_with(path, ".json")) {
    read_jsonl(path, column, pair_column, rows);
  } else {
    if (!pair_column.empty())
      throw UsageError("--pair-column needs a .csv or .jsonl --input; " + path + " is read as plain text lines");
    std::string line;
    if (path == "-") {
      while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        rows.text.push_back(line);
      }
    } else {
      std::istringstream in(read_file(path));
      while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        rows.text.push_back(line);
      }
    }
  }
  return rows;
}

}  // namespace nlpc::text
