#pragma once
// Plain inputs of the tokenizer commands and benchmarks (src/text/text_input.cpp).
#include <string>
#include <vector>

namespace nlpc::text {

// Reads the inputs of `nlpc tokenize`: texts (and pair texts when pair_column is set) from a plain
// text file (one per line), a CSV file (RFC 4180, header row) or a JSONL file. path "-" = stdin lines.
struct InputTexts {
  std::vector<std::string> text;
  std::vector<std::string> pair;
};
InputTexts read_input_texts(const std::string& path, const std::string& column, const std::string& pair_column);

}  // namespace nlpc::text
