#include "nlpc/io/table.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <unordered_map>

#include "nlpc/core/signals.h"
#include "nlpc/io/jsonl.h"
#include "nlpc/io/lines.h"
#include "table_util.h"

namespace nlpc::io {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char* json_type(const nlohmann::ordered_json& v) {
  return v.is_array()     ? "an array"
         : v.is_string()  ? "a string"
         : v.is_number()  ? "a number"
         : v.is_boolean() ? "a boolean"
         : v.is_null()    ? "null"
                          : "a value";
}

void json_to_field(const nlohmann::ordered_json& v, std::string& out) {
  if (v.is_string()) {
    out = v.get_ref<const std::string&>();
  } else if (v.is_null()) {
    out.clear();
  } else {
    out = v.dump();
  }
}

}  // namespace

TableFormat parse_table_format(const std::string& name) {
  const std::string n = lower(name);
  if (n == "auto") return TableFormat::kAuto;
  if (n == "csv") return TableFormat::kCsv;
  if (n == "tsv") return TableFormat::kTsv;
  if (n == "jsonl" || n == "json" || n == "ndjson") return TableFormat::kJsonl;
  if (n == "txt" || n == "text") return TableFormat::kText;
  throw UsageError("unknown format '" + name + "': expected auto, csv, tsv, jsonl or txt");
}

const char* table_format_name(TableFormat format) {
  switch (format) {
    case TableFormat::kAuto:
      return "auto";
    case TableFormat::kCsv:
      return "csv";
    case TableFormat::kTsv:
      return "tsv";
    case TableFormat::kJsonl:
      return "jsonl";
    case TableFormat::kText:
      return "txt";
  }
  return "?";
}

TableFormat format_from_path(const std::string& path) {
  if (path == "-") throw UsageError("reading standard input: pass --format (csv, tsv, jsonl or txt)");
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  const std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash)
                              ? ""
                              : lower(path.substr(dot + 1));
  if (ext == "csv") return TableFormat::kCsv;
  if (ext == "tsv" || ext == "tab") return TableFormat::kTsv;
  if (ext == "jsonl" || ext == "json" || ext == "ndjson") return TableFormat::kJsonl;
  if (ext == "txt" || ext == "text") return TableFormat::kText;
  throw UsageError("cannot tell the format of '" + path +
                   "' from its extension: name it .csv, .tsv, .jsonl or .txt, or pass --format");
}

struct TableReader::Impl {
  TableFormat format;
  TableOptions options;
  std::optional<CsvReader> csv;
  std::optional<JsonlReader> jsonl;
  std::optional<LineReader> lines;
  std::vector<std::string> columns;
  std::unordered_map<std::string, size_t> key_index;
  nlohmann::ordered_json pending;  // the first JSONL object, read to learn the columns
  bool has_pending = false;
  ReadPosition pending_pos;  // where the first JSONL object's reading starts
  int64_t first_line = 0;
  int64_t line = 0;
  int64_t number = 0;
  std::vector<char> seen;

  Impl(const std::string& path, TableOptions opts) : options(opts) {
    format = opts.format == TableFormat::kAuto ? format_from_path(path) : opts.format;
    if (format == TableFormat::kCsv || format == TableFormat::kTsv) {
      CsvOptions c;
      c.delimiter = opts.delimiter != 0 ? opts.delimiter : format == TableFormat::kTsv ? '\t' : ',';
      c.quoting = opts.quoting;
      c.allow_ragged = opts.allow_ragged;
      c.buffer_size = opts.buffer_size;
      csv.emplace(path, c);
      columns = csv->header();
    } else if (format == TableFormat::kJsonl) {
      jsonl.emplace(path, opts.buffer_size);
      open_jsonl();
    } else {
      lines.emplace(path, LineOptions{false, opts.buffer_size});
      columns = {"text"};
    }
  }

  void open_jsonl() {
    pending_pos = jsonl->position();
    if (!jsonl->next(pending)) {
      throw InputError(jsonl->name(), 0, 0, "the file is empty: expected one JSON object per line");
    }
    if (pending.is_array()) {
      throw jsonl->error(
          "expected one JSON object per line, found an array (a JSON array file cannot be "
          "streamed: convert it to JSON Lines first, e.g. jq -c '.[]' in.json > out.jsonl)");
    }
    check_object(pending);
    has_pending = true;
    first_line = jsonl->line_number();
    for (const auto& item : pending.items()) {
      key_index.emplace(item.key(), columns.size());
      columns.push_back(item.key());
    }
  }

  void check_object(const nlohmann::ordered_json& v) const {
    if (!v.is_object()) {
      throw jsonl->error(std::string("expected a JSON object, found ") + json_type(v));
    }
  }

  bool next_jsonl(TableRecord& rec) {
    nlohmann::ordered_json value;
    if (has_pending) {
      value = std::move(pending);
      has_pending = false;
    } else if (!jsonl->next(value)) {
      return false;
    }
    check_object(value);
    rec.fields.resize(columns.size());
    seen.assign(columns.size(), 0);
    for (const auto& item : value.items()) {
      auto it = key_index.find(item.key());
      if (it == key_index.end()) {
        throw jsonl->error("unexpected key \"" + item.key() +
                           "\": every object must have the keys of the first one (line " +
                           std::to_string(first_line) + "): " + quoted_columns());
      }
      json_to_field(item.value(), rec.fields[it->second]);
      seen[it->second] = 1;
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      if (seen[i]) continue;
      if (!options.allow_ragged) {
        throw jsonl->error("missing key \"" + columns[i] +
                           "\": every object must have the keys of the first one (line " +
                           std::to_string(first_line) + "): " + quoted_columns());
      }
      rec.fields[i].clear();
    }
    rec.line = line = jsonl->line_number();
    return true;
  }

  std::string quoted_columns() const {
    std::string s;
    for (size_t i = 0; i < columns.size(); ++i) s += (i ? ", \"" : "\"") + columns[i] + "\"";
    return s;
  }

  bool next_text(TableRecord& rec) {
    rec.fields.resize(1);
    if (!lines->next(rec.fields[0])) return false;
    rec.line = line = lines->line_number();
    return true;
  }
};

TableReader::TableReader(const std::string& path, TableOptions options)
    : impl_(std::make_unique<Impl>(path, options)) {}
TableReader::~TableReader() = default;
TableReader::TableReader(TableReader&&) noexcept = default;

TableFormat TableReader::format() const { return impl_->format; }
const std::vector<std::string>& TableReader::columns() const { return impl_->columns; }

int64_t TableReader::find_column(const std::string& name) const {
  const auto& cols = impl_->columns;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (!name.empty() && cols[i] == name) return static_cast<int64_t>(i);
  }
  return -1;
}

size_t TableReader::column_index(const std::string& name) const {
  if (impl_->csv) return impl_->csv->column_index(name);
  const int64_t i = find_column(name);
  if (i >= 0) return static_cast<size_t>(i);
  const int64_t line = impl_->jsonl ? impl_->first_line : 0;
  throw InputError(this->name(), line, 0, missing_column_message(name, impl_->columns));
}

ReadPosition TableReader::position() const {
  if (impl_->csv) return impl_->csv->position();
  if (impl_->has_pending) return impl_->pending_pos;
  ReadPosition p = impl_->jsonl ? impl_->jsonl->position() : impl_->lines->position();
  p.number = impl_->number;
  return p;
}

void TableReader::seek(const ReadPosition& p) {
  if (impl_->csv) return impl_->csv->seek(p);
  if (impl_->jsonl) {
    impl_->jsonl->seek(p);
    impl_->has_pending = false;
  } else {
    impl_->lines->seek(p);
  }
  impl_->number = p.number;
}

bool TableReader::next(TableRecord& record) {
  if (impl_->csv) return impl_->csv->next(record);
  const bool ok = impl_->jsonl ? impl_->next_jsonl(record) : impl_->next_text(record);
  if (ok) record.number = ++impl_->number;
  return ok;
}

InputError TableReader::error_at(size_t field, const std::string& what) const {
  if (impl_->csv) return impl_->csv->error_at(field, what);
  if (impl_->jsonl && field < impl_->columns.size()) {
    return InputError(name(), impl_->line, 0, "key \"" + impl_->columns[field] + "\": " + what);
  }
  return InputError(name(), impl_->line, 0, what);
}

const std::string& TableReader::name() const {
  if (impl_->csv) return impl_->csv->name();
  if (impl_->jsonl) return impl_->jsonl->name();
  return impl_->lines->name();
}

int64_t TableReader::bytes_read() const {
  if (impl_->csv) return impl_->csv->bytes_read();
  if (impl_->jsonl) return impl_->jsonl->bytes_read();
  return impl_->lines->bytes_read();
}

int64_t TableReader::input_size() const {
  if (impl_->csv) return impl_->csv->input_size();
  if (impl_->jsonl) return impl_->jsonl->input_size();
  return impl_->lines->input_size();
}

LabelledData read_labelled(const std::string& path, const std::string& text_column,
                           const std::string& label_column, const TableOptions& options) {
  TableReader reader(path, options);
  const size_t ti = reader.column_index(text_column);
  const size_t li = reader.column_index(label_column);
  LabelledData data;
  TableRecord rec;
  while (reader.next(rec)) {
    if ((rec.number & 4095) == 0) check_interrupted();
    if (ti >= rec.size() || li >= rec.size())
      throw reader.error_at(rec.size(), "row too short for the selected columns");
    if (rec[li].empty()) {
      throw reader.error_at(li,
                            "empty label in column \"" + label_column + "\": every example needs a label");
    }
    data.texts.push_back(rec[ti]);
    data.labels.push_back(rec[li]);
    data.lines.push_back(rec.line);
  }
  if (data.texts.empty()) {
    throw InputError(reader.name(), 0, 0, "no data rows: expected at least one example after the header");
  }
  return data;
}

}  // namespace nlpc::io
