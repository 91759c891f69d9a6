#pragma once
// Writing result rows as CSV/TSV (header first) or JSONL, to a temporary file renamed on commit()
// ("-" = stdout): the one writer of `nlpc predict` (every task) and the speech manifests.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/io/table.h"

namespace nlpc::io {

class CsvWriter;
class JsonlWriter;

class RowSink {
 public:
  // format: kCsv, kTsv or kJsonl (kText and kAuto write CSV).
  RowSink(const std::string& path, TableFormat format, std::vector<std::string> columns);
  ~RowSink();
  bool jsonl() const { return jsonl_ != nullptr; }
  const std::vector<std::string>& columns() const { return columns_; }
  // CSV/TSV: one field per column. JSONL: an object of the columns' values.
  void write(const std::vector<std::string>& fields);
  // JSONL only: an object written as it is (nested values allowed).
  void write_json(const nlohmann::ordered_json& j);
  void commit();
  // Sharded prediction: while `buffer` is set, rows go to it instead of the output; write_raw()
  // appends rows formatted by another rank's sink (same format and columns) as they are.
  void capture(std::string* buffer);
  void write_raw(const std::string& bytes);

 private:
  std::vector<std::string> columns_;
  std::unique_ptr<CsvWriter> csv_;
  std::unique_ptr<JsonlWriter> jsonl_;
};

// The output format of a prediction: `requested` ("auto" = from the extension of `path`, else
// `input`); plain text becomes CSV.
TableFormat output_format(const std::string& path, const std::string& requested, TableFormat input);

// `name`, or "predicted_<name>" when the input already has a column called `name`.
std::string unique_column(const std::vector<std::string>& existing, const std::string& name);

}  // namespace nlpc::io
