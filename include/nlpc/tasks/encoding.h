#pragma once
// Tokenizing labelled text for the BERT-family models (training and inference share it, so the
// model sees the same ids at both times).
#include <string>
#include <vector>

#include "nlpc/text/tokenizer.h"
#include "nlpc/train/batch.h"

namespace nlpc {

// Encodes text (and pair) with special tokens, truncated to max_length (longest_first).
train::Example encode_example(const text::Tokenizer& tok, const std::string& text, const std::string* pair,
                              int64_t max_length);

// The token ids' padding id of a tokenizer ([PAD] / <pad>), 0 when it has none.
int64_t pad_id_of(const text::Tokenizer& tok);

// Writes/updates tokenizer_config.json in `dir` with model_max_length (what HF uses for
// truncation=True), so inference truncates as training did.
void set_model_max_length(const std::string& dir, int64_t max_length);
// model_max_length of a folder's tokenizer_config.json, else `fallback`.
int64_t model_max_length(const std::string& dir, int64_t fallback);

}  // namespace nlpc
