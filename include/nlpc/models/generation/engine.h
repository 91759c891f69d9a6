#pragma once
// The decoding engine shared by T5 (Hugging Face generate() semantics) and Whisper (openai/whisper
// decoding.py semantics). A model takes part through a DecoderSession; the engine owns the loop:
//   next-token logits -> logits processors (in order) -> token choice -> rows grow by one token,
// until every row is finished (it produced eos), the rows reach max_length tokens or max_new_tokens
// tokens were added.
//  - sample_search: greedy (argmax) or multinomial sampling after the warpers;
//  - beam_search: one loop for every beam search; what makes it HF's or openai's (how candidates are
//    chosen, scored and kept, when a batch item is done, which sequence wins) is its BeamScorer
//    (beam_scorers.h).
// Rows are one sequence per batch item (or batch item x candidate, consecutively); ids: [rows, len]
// int64, the prefix (decoder start token, or Whisper's initial tokens) first.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "nlpc/models/generation/logits_processors.h"

namespace nlpc::models {

// The model side of decoding, over one batch of (already encoded) inputs.
class DecoderSession {
 public:
  virtual ~DecoderSession() = default;
  // ids: [rows, len], every decoder token so far (prefix first). Returns next-token logits
  // [rows, vocab] (float) for the last position.
  virtual torch::Tensor next_logits(const torch::Tensor& ids) = 0;
  // Beam search: row i of the next step continues row index[i] of this step. index: [rows] int64.
  virtual void reorder(const torch::Tensor& index) = 0;
};

struct SearchLimits {
  int64_t eos = -1;             // a row that produced it is finished
  int64_t pad = -1;             // what finished rows get in later steps (greedy/sampling)
  int64_t max_length = 20;      // row length limit, prefix included
  int64_t max_new_tokens = -1;  // tokens added at most; -1: no limit besides max_length
};

// Token choice of sample_search.
struct SamplingOptions {
  bool do_sample = false;   // false: argmax of the processed scores
  SamplingWarpers warpers;  // applied to the processed scores before softmax when sampling
  uint64_t seed = 0;        // CPU generator of the multinomial draws
  // false (HF): one multinomial draw over every row at each step, finished rows included;
  // true (nlpc's Whisper decoding): one draw per unfinished row, in row order.
  bool draw_per_row = false;
  // Accumulate each row's sum of log_softmax(processed scores) at its chosen tokens (eos
  // included, nothing after it), as openai/whisper does.
  bool track_logprobs = false;
};

// A finished sequence: prefix, generated tokens, eos when it ended with one.
struct Sequence {
  std::vector<int64_t> tokens;
  double sum_logprobs = 0;
};

struct SampleResult {
  torch::Tensor ids;                 // [rows, len] on the prefix's device; finished rows padded
  std::vector<double> sum_logprobs;  // per row (zeros unless track_logprobs)
};

// Greedy decoding or sampling. prefix: [rows, prefix_len].
SampleResult sample_search(DecoderSession& session, const LogitsProcessorList& processors,
                           const torch::Tensor& prefix, const SearchLimits& limits,
                           const SamplingOptions& sampling);

// The choice of the next beams at one step.
struct BeamStep {
  torch::Tensor source;  // [rows] int64: row of this step each next row continues
  torch::Tensor tokens;  // [rows] int64: the token it adds
};

// What makes a beam search HF's or openai's (see beam_scorers.h).
class BeamScorer {
 public:
  virtual ~BeamScorer() = default;
  // true: the processors see raw logits and log_softmax follows (openai); false: they see the
  // log_softmax scores (HF).
  virtual bool process_before_log_softmax() const = 0;
  // ids: [rows, len] on the prefix's device; logprobs: [rows, vocab] after the processors. Records
  // the hypotheses that end here and chooses the next rows.
  virtual BeamStep step(const torch::Tensor& ids, const torch::Tensor& logprobs) = 0;
  virtual bool is_done() const = 0;
  // After the last step (ids: the final rows): the winning sequence of every batch item.
  virtual std::vector<Sequence> finalize(const torch::Tensor& ids) = 0;
};

// Beam search. prefix: [batch * beams, prefix_len], each batch item's beams consecutive.
std::vector<Sequence> beam_search(DecoderSession& session, const LogitsProcessorList& processors,
                                  const torch::Tensor& prefix, const SearchLimits& limits,
                                  BeamScorer& scorer);

// openai's MaximumLikelihoodRanker without length penalty: the candidate with the highest
// sum_logprobs / length, length = tokens after the first `prefix_len` up to the first eos (at
// least 1); the first of equal scores.
size_t best_by_mean_logprob(const std::vector<Sequence>& candidates, int64_t prefix_len, int64_t eos);

// The rows of `ids` [rows, len] as sequences (with `sum_logprobs` when not empty).
std::vector<Sequence> to_sequences(const torch::Tensor& ids, const std::vector<double>& sum_logprobs = {});

// Sequences as one [n, width] int64 tensor, width the longest, shorter rows filled with `pad`.
torch::Tensor pad_sequences(const std::vector<Sequence>& seqs, int64_t pad, torch::Device device);

}  // namespace nlpc::models
