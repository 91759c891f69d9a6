// The decoding loops: greedy/sampling and beam search over a DecoderSession.
// See include/nlpc/models/generation/engine.h.
#include "nlpc/models/generation/engine.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>

#include "nlpc/core/signals.h"

namespace nlpc::models {
namespace {

bool at_limit(const SearchLimits& l, int64_t len, int64_t added) {
  return len >= l.max_length || (l.max_new_tokens >= 0 && added >= l.max_new_tokens);
}

// One multinomial draw per unfinished row (finished rows get 0, replaced by pad afterwards).
torch::Tensor draw_per_row(const torch::Tensor& warped, const torch::Tensor& unfinished, at::Generator& gen) {
  // warped: [rows, vocab]; unfinished: [rows] int64 -> [rows] int64
  auto live = unfinished.to(torch::kCPU).contiguous();
  auto live_acc = live.accessor<int64_t, 1>();
  std::vector<int64_t> next(static_cast<size_t>(warped.size(0)), 0);
  for (int64_t b = 0; b < warped.size(0); ++b) {
    if (live_acc[b] == 0) continue;
    auto probs = torch::softmax(warped[b], -1);  // [vocab]
    next[static_cast<size_t>(b)] = torch::multinomial(probs, 1, /*replacement=*/false, gen).item<int64_t>();
  }
  return torch::tensor(next, torch::kLong).to(warped.device());
}

// The next token of every row: argmax, or a draw from softmax(warped scores).
torch::Tensor choose_tokens(const torch::Tensor& scores, const torch::Tensor& unfinished,
                            const SamplingOptions& o, at::Generator& gen) {
  // scores: [rows, vocab] -> [rows] int64
  if (!o.do_sample) return scores.argmax(-1);
  auto warped = o.warpers.apply(scores);
  if (o.draw_per_row) return draw_per_row(warped, unfinished, gen);
  auto probs = torch::softmax(warped, -1).to(torch::kCPU);
  return torch::multinomial(probs, 1, /*replacement=*/false, gen).squeeze(1).to(scores.device());
}

// sums[b] += log_softmax(scores)[b, next[b]] for the unfinished rows.
void add_logprobs(const torch::Tensor& scores, const torch::Tensor& next, const torch::Tensor& unfinished,
                  std::vector<double>& sums) {
  // scores: [rows, vocab]; next, unfinished: [rows]
  auto lp =
      torch::log_softmax(scores, -1).gather(1, next.view({-1, 1})).to(torch::kCPU).contiguous();  // [rows, 1]
  auto live = unfinished.to(torch::kCPU).contiguous();
  auto lp_acc = lp.accessor<float, 2>();
  auto live_acc = live.accessor<int64_t, 1>();
  for (int64_t b = 0; b < lp.size(0); ++b) {
    if (live_acc[b] != 0) sums[static_cast<size_t>(b)] += static_cast<double>(lp_acc[b][0]);
  }
}

}  // namespace

SampleResult sample_search(DecoderSession& session, const LogitsProcessorList& processors,
                           const torch::Tensor& prefix, const SearchLimits& limits,
                           const SamplingOptions& sampling) {
  auto ids = prefix;  // [rows, len]
  const int64_t rows = ids.size(0);
  auto unfinished =
      torch::ones({rows}, torch::TensorOptions().dtype(torch::kLong).device(ids.device()));  // [rows]
  auto gen = at::make_generator<at::CPUGeneratorImpl>(sampling.seed);
  SampleResult r;
  r.sum_logprobs.assign(static_cast<size_t>(rows), 0.0);
  for (int64_t added = 1;; ++added) {
    check_interrupted();
    auto scores = session.next_logits(ids);  // [rows, vocab]
    apply_processors(processors, ids, scores);
    auto next = choose_tokens(scores, unfinished, sampling, gen);  // [rows]
    if (sampling.track_logprobs) add_logprobs(scores, next, unfinished, r.sum_logprobs);
    next = next * unfinished + limits.pad * (1 - unfinished);
    ids = torch::cat({ids, next.unsqueeze(1)}, 1);
    unfinished = unfinished * (next != limits.eos).to(torch::kLong);
    if (unfinished.max().item<int64_t>() == 0 || at_limit(limits, ids.size(1), added)) break;
  }
  r.ids = ids;
  return r;
}

std::vector<Sequence> beam_search(DecoderSession& session, const LogitsProcessorList& processors,
                                  const torch::Tensor& prefix, const SearchLimits& limits,
                                  BeamScorer& scorer) {
  auto ids = prefix;  // [batch * beams, len]
  for (int64_t added = 1;; ++added) {
    check_interrupted();
    auto logits = session.next_logits(ids);  // [rows, vocab]
    torch::Tensor logprobs;                  // [rows, vocab]
    if (scorer.process_before_log_softmax()) {
      apply_processors(processors, ids, logits);
      logprobs = torch::log_softmax(logits.to(torch::kFloat), -1);
    } else {
      logprobs = torch::log_softmax(logits.to(torch::kFloat), -1);
      apply_processors(processors, ids, logprobs);
    }
    BeamStep step = scorer.step(ids, logprobs);
    auto source = step.source.to(ids.device());  // [rows]
    ids = torch::cat({ids.index_select(0, source), step.tokens.view({-1, 1}).to(ids.device())}, 1);
    session.reorder(source);
    if (scorer.is_done() || at_limit(limits, ids.size(1), added)) break;
  }
  return scorer.finalize(ids);
}

size_t best_by_mean_logprob(const std::vector<Sequence>& candidates, int64_t prefix_len, int64_t eos) {
  size_t best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto& t = candidates[i].tokens;
    const auto from = t.begin() + std::min<std::ptrdiff_t>(prefix_len, static_cast<std::ptrdiff_t>(t.size()));
    const auto length = std::find(from, t.end(), eos) - from;
    const double score =
        candidates[i].sum_logprobs / static_cast<double>(std::max<std::ptrdiff_t>(1, length));
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return best;
}

std::vector<Sequence> to_sequences(const torch::Tensor& ids, const std::vector<double>& sum_logprobs) {
  // ids: [rows, len]
  auto cpu = ids.to(torch::kCPU).contiguous();
  auto acc = cpu.accessor<int64_t, 2>();
  std::vector<Sequence> out(static_cast<size_t>(cpu.size(0)));
  for (int64_t r = 0; r < cpu.size(0); ++r) {
    auto& s = out[static_cast<size_t>(r)];
    s.tokens.assign(acc[r].data(), acc[r].data() + cpu.size(1));
    if (!sum_logprobs.empty()) s.sum_logprobs = sum_logprobs[static_cast<size_t>(r)];
  }
  return out;
}

torch::Tensor pad_sequences(const std::vector<Sequence>& seqs, int64_t pad, torch::Device device) {
  size_t width = 0;
  for (const auto& s : seqs) width = std::max(width, s.tokens.size());
  auto out = torch::full({static_cast<int64_t>(seqs.size()), static_cast<int64_t>(width)}, pad, torch::kLong);
  auto acc = out.accessor<int64_t, 2>();  // [n, width]
  for (size_t b = 0; b < seqs.size(); ++b) {
    const auto& t = seqs[b].tokens;
    for (size_t i = 0; i < t.size(); ++i) acc[static_cast<int64_t>(b)][static_cast<int64_t>(i)] = t[i];
  }
  return out.to(device);
}

}  // namespace nlpc::models
