#include "nlpc/io/row_sink.h"

#include <algorithm>

#include "nlpc/io/csv.h"
#include "nlpc/io/jsonl.h"

namespace nlpc::io {

RowSink::RowSink(const std::string& path, TableFormat format, std::vector<std::string> columns)
    : columns_(std::move(columns)) {
  if (format == TableFormat::kJsonl) {
    jsonl_ = std::make_unique<JsonlWriter>(path);
  } else {
    CsvWriterOptions o;
    o.delimiter = format == TableFormat::kTsv ? '\t' : ',';
    csv_ = std::make_unique<CsvWriter>(path, o);
    csv_->write_row(columns_);
  }
}

RowSink::~RowSink() = default;

void RowSink::write(const std::vector<std::string>& fields) {
  if (csv_) {
    csv_->write_row(fields);
    return;
  }
  nlohmann::ordered_json j;
  for (size_t c = 0; c < columns_.size() && c < fields.size(); ++c) j[columns_[c]] = fields[c];
  jsonl_->write(j);
}

void RowSink::write_json(const nlohmann::ordered_json& j) { jsonl_->write(j); }

void RowSink::capture(std::string* buffer) {
  if (jsonl_) jsonl_->capture(buffer);
  if (csv_) csv_->capture(buffer);
}

void RowSink::write_raw(const std::string& bytes) {
  if (jsonl_) jsonl_->write_raw(bytes);
  if (csv_) csv_->write_raw(bytes);
}

void RowSink::commit() {
  if (jsonl_) jsonl_->commit();
  if (csv_) csv_->commit();
}

TableFormat output_format(const std::string& path, const std::string& requested, TableFormat input) {
  TableFormat f = parse_table_format(requested);
  if (f == TableFormat::kAuto) f = path != "-" ? format_from_path(path) : input;
  if (f == TableFormat::kAuto) f = input;
  return f == TableFormat::kText ? TableFormat::kCsv : f;
}

std::string unique_column(const std::vector<std::string>& existing, const std::string& name) {
  if (std::find(existing.begin(), existing.end(), name) == existing.end()) return name;
  return "predicted_" + name;
}

}  // namespace nlpc::io
