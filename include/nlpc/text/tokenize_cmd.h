#pragma once
// `nlpc tokenize` (encode), `nlpc tokenize decode` and `nlpc tokenize train`: typed options and the
// library entry points that src/cli/cmd_tokenize.cpp calls.
#include <cstdint>
#include <string>
#include <vector>

namespace nlpc::text {

struct TokenizeOptions {
  std::string tokenizer;         // folder or file
  std::string text;              // --text (one input); empty with has_text=false means stdin/--input
  bool has_text = false;
  std::string pair_text;         // --pair-text
  bool has_pair_text = false;
  std::string input;             // --input FILE (plain text lines, .csv or .jsonl)
  std::string column = "text";   // column/key for .csv/.jsonl input
  std::string pair_column;       // second sequence column
  std::string format = "ids";    // ids | tokens | jsonl
  int64_t max_length = 0;
  std::string truncation = "longest_first";
  bool pad = false;              // pad to --max-length
  bool no_special_tokens = false;
  std::string output = "-";
};

struct DecodeOptions {
  std::string tokenizer;
  std::string input;             // lines of ids ("1 2 3", "1,2,3", "[1, 2, 3]" or {"ids": [...]}); stdin when empty
  std::string ids;               // --ids "1 2 3" (one input)
  bool skip_special_tokens = false;
  std::string format = "text";   // text | jsonl
  std::string output = "-";
};

struct TrainTokenizerOptions {
  std::string type;              // wordpiece | bpe | unigram
  std::string input;
  std::string column = "text";
  int64_t vocab_size = 8000;
  std::string output;
  bool lowercase = true;         // wordpiece
  int64_t min_frequency = 2;     // wordpiece: words rarer than this are ignored
  double character_coverage = 0.9995;  // sentencepiece
  std::string spm_train = "spm_train"; // sentencepiece trainer executable
};

int run_tokenize(const TokenizeOptions& opt);
int run_tokenize_decode(const DecodeOptions& opt);
int run_tokenize_train(const TrainTokenizerOptions& opt);

// Reads the inputs of `nlpc tokenize`: texts (and pair texts when pair_column is set) from a plain
// text file (one per line), a CSV file (RFC 4180, header row) or a JSONL file. path "-" = stdin lines.
struct TextRows {
  std::vector<std::string> text;
  std::vector<std::string> pair;
};
TextRows read_text_rows(const std::string& path, const std::string& column, const std::string& pair_column);

}  // namespace nlpc::text
