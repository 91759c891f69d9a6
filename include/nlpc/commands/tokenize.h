#pragma once
// `nlpc tokenize` (encode) and `nlpc tokenize decode`: typed options and the entry points that
// src/cli/cmd_tokenize.cpp calls. `nlpc tokenize train` is text::train_tokenizer (text/train_tokenizer.h).
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/text/text_input.h"
#include "nlpc/text/train_tokenizer.h"

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

int run_tokenize(const TokenizeOptions& opt);
int run_tokenize_decode(const DecodeOptions& opt);

}  // namespace nlpc::text
