// Beam search with transformers' BeamSearchScorer / BeamHypotheses semantics (4.33):
//  - 2 * num_beams candidates per batch item and step from log-softmax scores (after the logits
//    processors) plus running beam scores; an eos candidate ranked within the first num_beams becomes
//    a finished hypothesis scored sum_logprobs / len(hyp)**length_penalty (hyp without the eos);
//  - a batch item is done when it holds num_beams hypotheses and early stopping says so: true at
//    once, false when the best running score / cur_len**lp cannot beat the worst kept hypothesis,
//    "never" with max_length instead of cur_len when length_penalty > 0;
//  - at the length limit the running beams are added as hypotheses; the best hypothesis is returned
//    followed by eos when it is shorter than the limit, rows padded with pad_token_id.
#include <algorithm>
#include <cmath>
#include <vector>

#include "nlpc/core/signals.h"
#include "nlpc/models/generation.h"

namespace nlpc::models::detail {
namespace {

struct Hypothesis {
  double score;
  std::vector<int64_t> tokens;
};

class BeamHypotheses {
 public:
  BeamHypotheses(int64_t num_beams, double length_penalty, EarlyStopping early, int64_t max_length)
      : n_(num_beams), lp_(length_penalty), early_(early), max_length_(max_length) {}

  void add(std::vector<int64_t> tokens, double sum_logprobs) {
    const double score = sum_logprobs / std::pow(static_cast<double>(tokens.size()), lp_);
    if (static_cast<int64_t>(beams_.size()) < n_ || score > worst_) {
      beams_.push_back({score, std::move(tokens)});
      if (static_cast<int64_t>(beams_.size()) > n_) {
        // drop the lowest (score, insertion index); the worst becomes the second lowest
        std::vector<std::pair<double, size_t>> ranked;
        for (size_t i = 0; i < beams_.size(); ++i) ranked.push_back({beams_[i].score, i});
        std::sort(ranked.begin(), ranked.end());
        beams_.erase(beams_.begin() + static_cast<std::ptrdiff_t>(ranked[0].second));
        worst_ = ranked[1].first;
      } else {
        worst_ = std::min(score, worst_);
      }
    }
  }

  bool is_done(double best_sum_logprobs, int64_t cur_len) const {
    if (static_cast<int64_t>(beams_.size()) < n_) return false;
    if (early_ == EarlyStopping::kTrue) return true;
    double len = static_cast<double>(cur_len);
    if (early_ == EarlyStopping::kNever && lp_ > 0.0) len = static_cast<double>(max_length_);
    return worst_ >= best_sum_logprobs / std::pow(len, lp_);
  }

  // Highest score; among equal scores the one added last (Python's sorted(...).pop()).
  const Hypothesis& best() const {
    std::vector<size_t> order(beams_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return beams_[a].score < beams_[b].score; });
    return beams_[order.back()];
  }

 private:
  int64_t n_;
  double lp_;
  EarlyStopping early_;
  int64_t max_length_;
  std::vector<Hypothesis> beams_;
  double worst_ = 1e9;
};

std::vector<int64_t> row_tokens(const torch::TensorAccessor<int64_t, 2>& acc, int64_t row, int64_t len) {
  std::vector<int64_t> out(static_cast<size_t>(len));
  for (int64_t i = 0; i < len; ++i) out[static_cast<size_t>(i)] = acc[row][i];
  return out;
}

}  // namespace

torch::Tensor beam_search(DecoderSession& s, int64_t batch, const GenerationOptions& o, int64_t start, int64_t eos,
                          int64_t pad, torch::Device device) {
  const int64_t nb = o.num_beams;
  const int64_t limit = o.length_limit();
  auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto ids = torch::full({batch * nb, 1}, start, long_opts);  // [batch * beams, len]
  auto beam_scores = torch::zeros({batch, nb}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  beam_scores.narrow(1, 1, nb - 1).fill_(-1e9);  // only the first beam is live at the start
  beam_scores = beam_scores.view({-1});
  std::vector<BeamHypotheses> hyps(static_cast<size_t>(batch), BeamHypotheses(nb, o.length_penalty, o.early_stopping, limit));
  std::vector<bool> done(static_cast<size_t>(batch), false);

  while (true) {
    check_interrupted();
    const int64_t cur_len = ids.size(1);
    auto scores = torch::log_softmax(s.next_logits(ids).to(torch::kFloat), -1);  // [rows, vocab]
    process_logits(ids, scores, o, eos);
    scores = scores + beam_scores.unsqueeze(1);
    const int64_t vocab = scores.size(1);
    auto [top_s, top_t] = torch::topk(scores.view({batch, nb * vocab}), 2 * nb, 1, true, true);
    auto top_i = torch::div(top_t, vocab, "floor").to(torch::kCPU).contiguous();
    top_t = torch::remainder(top_t, vocab).to(torch::kCPU).contiguous();
    top_s = top_s.to(torch::kCPU).contiguous();
    auto ids_cpu = ids.to(torch::kCPU).contiguous();
    auto S = top_s.accessor<float, 2>();
    auto T = top_t.accessor<int64_t, 2>();
    auto I = top_i.accessor<int64_t, 2>();
    auto ids_acc = ids_cpu.accessor<int64_t, 2>();

    auto next_scores = torch::zeros({batch, nb}, torch::kFloat);
    auto next_tokens = torch::zeros({batch, nb}, torch::kLong);
    auto next_index = torch::zeros({batch, nb}, torch::kLong);
    auto ns = next_scores.accessor<float, 2>();
    auto nt = next_tokens.accessor<int64_t, 2>();
    auto ni = next_index.accessor<int64_t, 2>();
    for (int64_t b = 0; b < batch; ++b) {
      if (done[static_cast<size_t>(b)]) {  // finished items keep running on pad (HF pads them)
        for (int64_t j = 0; j < nb; ++j) nt[b][j] = pad;
        continue;
      }
      int64_t k = 0;
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t rank = 0; rank < 2 * nb; ++rank) best = std::max(best, S[b][rank]);
      for (int64_t rank = 0; rank < 2 * nb && k < nb; ++rank) {
        const int64_t row = b * nb + I[b][rank];
        if (T[b][rank] == eos) {
          if (rank >= nb) continue;  // eos outside the top num_beams candidates is not a hypothesis
          hyps[static_cast<size_t>(b)].add(row_tokens(ids_acc, row, cur_len), static_cast<double>(S[b][rank]));
        } else {
          ns[b][k] = S[b][rank];
          nt[b][k] = T[b][rank];
          ni[b][k] = row;
          ++k;
        }
      }
      if (hyps[static_cast<size_t>(b)].is_done(static_cast<double>(best), cur_len)) done[static_cast<size_t>(b)] = true;
    }
    beam_scores = next_scores.view({-1}).to(device);
    auto index = next_index.view({-1}).to(device);
    ids = torch::cat({ids.index_select(0, index), next_tokens.view({-1, 1}).to(device)}, 1);
    s.reorder(index);
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }) || ids.size(1) >= limit) break;
  }

  // the running beams of unfinished items become hypotheses too
  auto ids_cpu = ids.to(torch::kCPU).contiguous();
  auto ids_acc = ids_cpu.accessor<int64_t, 2>();
  auto final_scores = beam_scores.to(torch::kCPU).contiguous();
  auto fs = final_scores.accessor<float, 1>();
  for (int64_t b = 0; b < batch; ++b) {
    if (done[static_cast<size_t>(b)]) continue;
    for (int64_t j = 0; j < nb; ++j)
      hyps[static_cast<size_t>(b)].add(row_tokens(ids_acc, b * nb + j, ids.size(1)), static_cast<double>(fs[b * nb + j]));
  }
  std::vector<const Hypothesis*> best;
  size_t longest = 0;
  for (const auto& h : hyps) {
    best.push_back(&h.best());
    longest = std::max(longest, best.back()->tokens.size());
  }
  const int64_t width = std::min<int64_t>(static_cast<int64_t>(longest) + 1, limit);
  auto out = torch::full({batch, width}, pad, torch::kLong);
  auto oa = out.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const auto& t = best[static_cast<size_t>(b)]->tokens;
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(t.size()), width);
    for (int64_t i = 0; i < n; ++i) oa[b][i] = t[static_cast<size_t>(i)];
    if (n < width) oa[b][n] = eos;
  }
  return out.to(device);
}

}  // namespace nlpc::models::detail
