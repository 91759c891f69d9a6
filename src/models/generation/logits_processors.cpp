// Logits processors (HF and openai/whisper semantics) and sampling warpers.
// See include/nlpc/models/generation/logits_processors.h.
#include "nlpc/models/generation/logits_processors.h"

#include <algorithm>
#include <limits>

namespace nlpc::models {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Bans token ids [from, to) (clipped to the vocabulary) in `scores`: [rows, vocab] or [vocab].
void ban_range(torch::Tensor& scores, int64_t from, int64_t to) {
  const int64_t vocab = scores.size(-1);
  from = std::max<int64_t>(0, from);
  to = std::min(vocab, to);
  if (from < to) scores.slice(-1, from, to).fill_(kNegInf);
}

}  // namespace

void apply_processors(const LogitsProcessorList& list, const torch::Tensor& ids, torch::Tensor& scores) {
  for (const auto& p : list) p->apply(ids, scores);
}

// ------------------------------------------------------------------------------ Hugging Face

void NoRepeatNgramProcessor::apply(const torch::Tensor& ids, torch::Tensor& scores) const {
  // ids: [rows, cur_len]; scores: [rows, vocab]
  const int64_t n = n_;
  const int64_t cur_len = ids.size(1);
  if (n <= 0 || cur_len + 1 < n) return;
  auto cpu = ids.to(torch::kCPU).contiguous();
  auto acc = cpu.accessor<int64_t, 2>();
  std::vector<int64_t> rows, cols;
  for (int64_t r = 0; r < cpu.size(0); ++r) {
    // n-grams already generated whose first n-1 tokens equal the last n-1 tokens of the row
    for (int64_t s = 0; s + n <= cur_len; ++s) {
      bool match = true;
      for (int64_t k = 0; k < n - 1 && match; ++k) match = acc[r][s + k] == acc[r][cur_len + 1 - n + k];
      if (match) {
        rows.push_back(r);
        cols.push_back(acc[r][s + n - 1]);
      }
    }
  }
  if (rows.empty()) return;
  auto r = torch::tensor(rows, torch::kLong).to(scores.device());
  auto c = torch::tensor(cols, torch::kLong).to(scores.device());
  scores.index_put_({r, c}, kNegInf);
}

void MinLengthProcessor::apply(const torch::Tensor& ids, torch::Tensor& scores) const {
  // ids: [rows, cur_len]; scores: [rows, vocab]
  if (min_length_ > 0 && ids.size(1) < min_length_ && eos_ >= 0 && eos_ < scores.size(1))
    scores.select(1, eos_).fill_(kNegInf);
}

// ------------------------------------------------------------------------------ openai/whisper

void SuppressBlankProcessor::apply(const torch::Tensor& ids, torch::Tensor& scores) const {
  // ids: [rows, len]; scores: [rows, vocab]
  if (ids.size(1) != sample_begin_) return;
  for (int64_t id : tokens_) ban_range(scores, id, id + 1);
}

void SuppressTokensProcessor::apply(const torch::Tensor& /*ids*/, torch::Tensor& scores) const {
  // scores: [rows, vocab]
  for (int64_t id : tokens_) ban_range(scores, id, id + 1);
}

void TimestampRulesProcessor::apply_row(const torch::TensorAccessor<int64_t, 1>& seq, int64_t len,
                                        torch::Tensor row) const {
  // seq: [len] tokens of one row; row: [vocab] its scores (a view, changed in place)
  const int64_t tb = r_.timestamp_begin;
  const int64_t n = len - r_.sample_begin;
  const bool last_ts = n >= 1 && seq[len - 1] >= tb;
  const bool penultimate_ts = n < 2 || seq[len - 2] >= tb;
  if (last_ts) {
    if (penultimate_ts)
      ban_range(row, tb, row.size(0));  // has to be text
    else
      ban_range(row, 0, r_.eot);  // cannot be text
  }
  int64_t last_timestamp = -1;
  for (int64_t i = r_.sample_begin; i < len; ++i)
    if (seq[i] >= tb) last_timestamp = seq[i];
  if (last_timestamp >= 0) {
    // timestamps do not decrease, and a segment has a nonzero length
    const int64_t limit = (last_ts && !penultimate_ts) ? last_timestamp : last_timestamp + 1;
    ban_range(row, tb, limit);
  }
}

void TimestampRulesProcessor::apply(const torch::Tensor& ids, torch::Tensor& scores) const {
  // ids: [rows, len]; scores: [rows, vocab]
  const int64_t tb = r_.timestamp_begin;
  const int64_t vocab = scores.size(1);
  ban_range(scores, r_.no_timestamps, r_.no_timestamps + 1);
  auto cpu = ids.to(torch::kCPU).contiguous();
  auto acc = cpu.accessor<int64_t, 2>();
  const int64_t rows = cpu.size(0), len = cpu.size(1);
  for (int64_t b = 0; b < rows; ++b) apply_row(acc[b], len, scores[b]);
  if (len == r_.sample_begin) {
    ban_range(scores, 0, tb);  // start with a timestamp
    if (r_.max_initial_timestamp_index >= 0)
      ban_range(scores, tb + r_.max_initial_timestamp_index + 1, vocab);
  }
  // timestamps win when their total probability beats every single text token
  auto logprobs = torch::log_softmax(scores, -1);  // [rows, vocab]
  for (int64_t b = 0; b < rows; ++b) {
    const double ts = logprobs[b].slice(0, tb).logsumexp(0).item<double>();
    const double text = logprobs[b].slice(0, 0, tb).max().item<double>();
    if (ts > text) {
      auto row = scores[b];
      ban_range(row, 0, tb);
    }
  }
}

// ------------------------------------------------------------------------------ warpers

torch::Tensor SamplingWarpers::apply(torch::Tensor scores) const {
  // scores: [rows, vocab]
  if (temperature != 1.0) scores = scores / temperature;
  if (top_k > 0) {
    const int64_t k = std::min(std::max<int64_t>(top_k, 1), scores.size(-1));
    auto kth = std::get<0>(torch::topk(scores, k)).narrow(-1, k - 1, 1);  // [rows, 1]
    scores = scores.masked_fill(scores < kth, kNegInf);
  }
  if (top_p < 1.0) {
    auto [sorted, idx] = torch::sort(scores, /*dim=*/-1, /*descending=*/false);
    auto cum = sorted.softmax(-1).cumsum(-1);
    auto remove = cum <= (1.0 - top_p);
    remove.narrow(-1, remove.size(-1) - 1, 1).fill_(false);  // keep at least one token
    remove = remove.scatter(1, idx, remove);
    scores = scores.masked_fill(remove, kNegInf);
  }
  return scores;
}

}  // namespace nlpc::models
