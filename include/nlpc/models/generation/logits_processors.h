#pragma once
// Logits processors of the decoding engine: each one changes the next-token scores of every row
// in place (banned tokens become -inf), given every token of the rows so far. A decoding run applies
// its list in order. Two families, with the semantics of their reference implementations:
//  - Hugging Face transformers 4.33: NoRepeatNGramLogitsProcessor, MinLengthLogitsProcessor;
//  - openai/whisper decoding.py: SuppressBlank, SuppressTokens, ApplyTimestampRules.
// And the sampling warpers (temperature, top-k, top-p) of transformers.
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

namespace nlpc::models {

class LogitsProcessor {
 public:
  virtual ~LogitsProcessor() = default;
  // ids: [rows, len] int64, every token of the rows so far (prefix included);
  // scores: [rows, vocab] float, changed in place.
  virtual void apply(const torch::Tensor& ids, torch::Tensor& scores) const = 0;
};

using LogitsProcessorList = std::vector<std::unique_ptr<LogitsProcessor>>;

// Applies every processor of `list` in order. ids: [rows, len]; scores: [rows, vocab].
void apply_processors(const LogitsProcessorList& list, const torch::Tensor& ids, torch::Tensor& scores);

// HF no_repeat_ngram_size: a token that would repeat an n-gram already in the row is banned.
class NoRepeatNgramProcessor : public LogitsProcessor {
 public:
  explicit NoRepeatNgramProcessor(int64_t n) : n_(n) {}
  void apply(const torch::Tensor& ids, torch::Tensor& scores) const override;

 private:
  int64_t n_;
};

// HF min_length: eos is banned while the row (prefix included) is shorter than min_length.
class MinLengthProcessor : public LogitsProcessor {
 public:
  MinLengthProcessor(int64_t min_length, int64_t eos) : min_length_(min_length), eos_(eos) {}
  void apply(const torch::Tensor& ids, torch::Tensor& scores) const override;

 private:
  int64_t min_length_, eos_;
};

// openai SuppressBlank: `tokens` (blank and eot) are banned at the first sampled position, i.e.
// while the rows are exactly `sample_begin` tokens long.
class SuppressBlankProcessor : public LogitsProcessor {
 public:
  SuppressBlankProcessor(std::vector<int64_t> tokens, int64_t sample_begin)
      : tokens_(std::move(tokens)), sample_begin_(sample_begin) {}
  void apply(const torch::Tensor& ids, torch::Tensor& scores) const override;

 private:
  std::vector<int64_t> tokens_;
  int64_t sample_begin_;
};

// openai SuppressTokens: `tokens` are banned at every position (ids outside the vocabulary ignored).
class SuppressTokensProcessor : public LogitsProcessor {
 public:
  explicit SuppressTokensProcessor(std::vector<int64_t> tokens) : tokens_(std::move(tokens)) {}
  void apply(const torch::Tensor& ids, torch::Tensor& scores) const override;

 private:
  std::vector<int64_t> tokens_;
};

// openai ApplyTimestampRules: <|notimestamps|> banned; timestamps come in pairs (text after a pair,
// a timestamp or eot after a lone one), never decrease and a segment has a nonzero length; the
// first sampled token is a timestamp no later than max_initial_timestamp_index; timestamps are
// forced when their total probability beats every single text token.
struct TimestampRules {
  int64_t eot = -1, no_timestamps = -1, timestamp_begin = -1;
  int64_t sample_begin = 0;                  // length of the prefix (initial tokens)
  int64_t max_initial_timestamp_index = -1;  // -1: no limit
};

class TimestampRulesProcessor : public LogitsProcessor {
 public:
  explicit TimestampRulesProcessor(TimestampRules r) : r_(r) {}
  void apply(const torch::Tensor& ids, torch::Tensor& scores) const override;

 private:
  void apply_row(const torch::TensorAccessor<int64_t, 1>& seq, int64_t len, torch::Tensor scores_row) const;
  TimestampRules r_;
};

// HF sampling warpers in transformers' order: temperature (skipped at 1.0), top-k (0 disables it),
// top-p (1.0 disables it; min_tokens_to_keep 1). scores: [rows, vocab] -> [rows, vocab].
struct SamplingWarpers {
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  torch::Tensor apply(torch::Tensor scores) const;
};

}  // namespace nlpc::models
