#pragma once
// Training WordPiece, byte-level BPE and SentencePiece (unigram) tokenizers into a Hugging Face
// style folder (src/text/train_tokenizer.cpp): `nlpc tokenize train` and summarization training.
#include <cstdint>
#include <string>

namespace nlpc::text {

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

// Trains a tokenizer of o.type on the texts of o.input (column o.column for CSV/JSONL) into o.output.
// Returns 0; bad options are UsageErrors, an input without text an InputError.
int train_tokenizer(const TrainTokenizerOptions& o);

}  // namespace nlpc::text
