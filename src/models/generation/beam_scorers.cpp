// HF (BeamSearchScorer) and openai/whisper (BeamSearchDecoder) beam scorers.
// See include/nlpc/models/generation/beam_scorers.h.
#include "nlpc/models/generation/beam_scorers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace nlpc::models {
namespace {

std::vector<int64_t> row_tokens(const torch::TensorAccessor<int64_t, 2>& acc, int64_t row, int64_t len) {
  return std::vector<int64_t>(acc[row].data(), acc[row].data() + len);
}

bool contains(const std::vector<Sequence>& seqs, const std::vector<int64_t>& tokens) {
  return std::any_of(seqs.begin(), seqs.end(), [&](const Sequence& s) { return s.tokens == tokens; });
}

}  // namespace

// ------------------------------------------------------------------------------ HF

void HfBeamScorer::Hypotheses::add(std::vector<int64_t> tokens, double sum_logprobs) {
  const double score = sum_logprobs / std::pow(static_cast<double>(tokens.size()), o_.length_penalty);
  if (!(static_cast<int64_t>(beams_.size()) < o_.num_beams || score > worst_)) return;
  beams_.push_back({score, sum_logprobs, std::move(tokens)});
  if (static_cast<int64_t>(beams_.size()) > o_.num_beams) {
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

bool HfBeamScorer::Hypotheses::is_done(double best_sum_logprobs, int64_t cur_len) const {
  if (static_cast<int64_t>(beams_.size()) < o_.num_beams) return false;
  if (o_.early_stopping == EarlyStopping::kTrue) return true;
  double len = static_cast<double>(cur_len);
  if (o_.early_stopping == EarlyStopping::kNever && o_.length_penalty > 0.0)
    len = static_cast<double>(o_.max_length);
  return worst_ >= best_sum_logprobs / std::pow(len, o_.length_penalty);
}

const HfBeamScorer::Hypothesis& HfBeamScorer::Hypotheses::best() const {
  // Python's sorted(...).pop(): among equal scores the one added last
  std::vector<size_t> order(beams_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return beams_[a].score < beams_[b].score; });
  return beams_[order.back()];
}

HfBeamScorer::HfBeamScorer(int64_t batch, const HfBeamOptions& o, torch::Device device)
    : batch_(batch),
      o_(o),
      hyps_(static_cast<size_t>(batch), Hypotheses(o)),
      done_(static_cast<size_t>(batch), false) {
  const int64_t nb = o.num_beams;
  auto scores = torch::zeros({batch, nb}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  scores.narrow(1, 1, nb - 1).fill_(-1e9);  // only the first beam is live at the start
  beam_scores_ = scores.view({-1});         // [batch * beams]
}

BeamStep HfBeamScorer::step(const torch::Tensor& ids, const torch::Tensor& logprobs) {
  // ids: [batch * nb, cur_len]; logprobs: [batch * nb, vocab]
  const int64_t nb = o_.num_beams, cur_len = ids.size(1);
  auto scores = logprobs + beam_scores_.unsqueeze(1);
  const int64_t vocab = scores.size(1);
  auto [top_s, top_t] =
      torch::topk(scores.view({batch_, nb * vocab}), 2 * nb, 1, true, true);  // [batch, 2 nb]
  auto top_i = torch::div(top_t, vocab, "floor").to(torch::kCPU).contiguous();
  top_t = torch::remainder(top_t, vocab).to(torch::kCPU).contiguous();
  top_s = top_s.to(torch::kCPU).contiguous();
  auto ids_cpu = ids.to(torch::kCPU).contiguous();
  auto S = top_s.accessor<float, 2>();
  auto T = top_t.accessor<int64_t, 2>();
  auto I = top_i.accessor<int64_t, 2>();
  auto ids_acc = ids_cpu.accessor<int64_t, 2>();

  auto next_scores = torch::zeros({batch_, nb}, torch::kFloat);
  auto next_tokens = torch::zeros({batch_, nb}, torch::kLong);
  auto next_index = torch::zeros({batch_, nb}, torch::kLong);  // done items continue row 0, as in HF
  auto ns = next_scores.accessor<float, 2>();
  auto nt = next_tokens.accessor<int64_t, 2>();
  auto ni = next_index.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch_; ++b) {
    auto& hyps = hyps_[static_cast<size_t>(b)];
    if (done_[static_cast<size_t>(b)]) {  // finished items keep running on pad (HF pads them)
      for (int64_t j = 0; j < nb; ++j) nt[b][j] = o_.pad;
      continue;
    }
    int64_t k = 0;
    float best = -std::numeric_limits<float>::infinity();
    for (int64_t rank = 0; rank < 2 * nb; ++rank) best = std::max(best, S[b][rank]);
    for (int64_t rank = 0; rank < 2 * nb && k < nb; ++rank) {
      const int64_t row = b * nb + I[b][rank];
      if (T[b][rank] == o_.eos) {
        if (rank >= nb) continue;  // eos outside the top num_beams candidates is not a hypothesis
        hyps.add(row_tokens(ids_acc, row, cur_len), static_cast<double>(S[b][rank]));
      } else {
        ns[b][k] = S[b][rank];
        nt[b][k] = T[b][rank];
        ni[b][k] = row;
        ++k;
      }
    }
    if (hyps.is_done(static_cast<double>(best), cur_len)) done_[static_cast<size_t>(b)] = true;
  }
  beam_scores_ = next_scores.view({-1}).to(beam_scores_.device());
  return {next_index.view({-1}), next_tokens.view({-1})};
}

bool HfBeamScorer::is_done() const {
  return std::all_of(done_.begin(), done_.end(), [](bool d) { return d; });
}

std::vector<Sequence> HfBeamScorer::finalize(const torch::Tensor& ids) {
  // ids: [batch * nb, len]; the running beams of unfinished items become hypotheses too
  const int64_t nb = o_.num_beams;
  auto ids_cpu = ids.to(torch::kCPU).contiguous();
  auto ids_acc = ids_cpu.accessor<int64_t, 2>();
  auto final_scores = beam_scores_.to(torch::kCPU).contiguous();
  auto fs = final_scores.accessor<float, 1>();
  std::vector<Sequence> out;
  for (int64_t b = 0; b < batch_; ++b) {
    auto& hyps = hyps_[static_cast<size_t>(b)];
    if (!done_[static_cast<size_t>(b)]) {
      for (int64_t j = 0; j < nb; ++j)
        hyps.add(row_tokens(ids_acc, b * nb + j, ids.size(1)), static_cast<double>(fs[b * nb + j]));
    }
    const Hypothesis& h = hyps.best();
    Sequence s{h.tokens, h.sum_logprobs};
    if (static_cast<int64_t>(s.tokens.size()) < o_.max_length) s.tokens.push_back(o_.eos);
    out.push_back(std::move(s));
  }
  return out;
}

// ------------------------------------------------------------------------------ openai

OpenaiBeamScorer::OpenaiBeamScorer(int64_t batch, const OpenaiBeamOptions& o)
    : batch_(batch),
      o_(o),
      max_candidates_(static_cast<size_t>(
          std::llround(static_cast<double>(std::max<int64_t>(1, o.beam_size)) * o.patience))),
      sum_logprobs_(static_cast<size_t>(batch * o.beam_size), 0.0),
      finished_(static_cast<size_t>(batch)) {}

std::vector<OpenaiBeamScorer::Candidate> OpenaiBeamScorer::candidates(int64_t item, const torch::Tensor& ids,
                                                                      const torch::Tensor& logprobs) const {
  // ids: [rows, len] CPU; logprobs: [rows, vocab]
  const int64_t nb = o_.beam_size;
  auto acc = ids.accessor<int64_t, 2>();
  std::vector<Candidate> cands;
  std::map<std::vector<int64_t>, size_t> where;
  for (int64_t row = item * nb; row < (item + 1) * nb; ++row) {
    auto [values, tokens] = logprobs[row].topk(nb + 1);  // [nb + 1]
    auto v = values.to(torch::kCPU).contiguous();
    auto t = tokens.to(torch::kCPU).contiguous();
    for (int64_t r = 0; r < nb + 1; ++r) {
      auto seq = row_tokens(acc, row, ids.size(1));
      seq.push_back(t.data_ptr<int64_t>()[r]);
      const double score =
          sum_logprobs_[static_cast<size_t>(row)] + static_cast<double>(v.data_ptr<float>()[r]);
      auto it = where.find(seq);
      if (it == where.end()) {
        where[seq] = cands.size();
        cands.push_back({std::move(seq), score, row});
      } else {  // a later proposal of the same sequence replaces the earlier one (a Python dict)
        cands[it->second].score = score;
        cands[it->second].source = row;
      }
    }
  }
  std::stable_sort(cands.begin(), cands.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  return cands;
}

void OpenaiBeamScorer::add_finished(int64_t item, const std::vector<int64_t>& seq, double score) {
  auto& fin = finished_[static_cast<size_t>(item)];
  if (!contains(fin, seq)) fin.push_back({seq, score});
}

BeamStep OpenaiBeamScorer::step(const torch::Tensor& ids, const torch::Tensor& logprobs) {
  // ids: [batch * beam_size, len]; logprobs: [batch * beam_size, vocab]
  auto ids_cpu = ids.to(torch::kCPU).contiguous();
  std::vector<int64_t> sources, tokens;
  std::vector<double> next_sums;
  for (int64_t item = 0; item < batch_; ++item) {
    std::vector<const Candidate*> newly_finished;
    int64_t saved = 0;
    auto cands = candidates(item, ids_cpu, logprobs);
    for (const auto& c : cands) {
      if (c.seq.back() == o_.eot) {
        newly_finished.push_back(&c);
        continue;
      }
      next_sums.push_back(c.score);
      sources.push_back(c.source);
      tokens.push_back(c.seq.back());
      if (++saved == o_.beam_size) break;
    }
    for (const Candidate* f : newly_finished) {
      if (finished_[static_cast<size_t>(item)].size() >= max_candidates_)
        break;  // the candidate list is full
      add_finished(item, f->seq, f->score);
    }
  }
  sum_logprobs_ = std::move(next_sums);
  return {torch::tensor(sources, torch::kLong), torch::tensor(tokens, torch::kLong)};
}

bool OpenaiBeamScorer::is_done() const {
  return std::all_of(finished_.begin(), finished_.end(),
                     [&](const std::vector<Sequence>& f) { return f.size() >= max_candidates_; });
}

std::vector<Sequence> OpenaiBeamScorer::finalize(const torch::Tensor& ids) {
  // ids: [batch * beam_size, len]; when too few finished, the running beams (best first) fill up
  const int64_t nb = o_.beam_size;
  auto ids_cpu = ids.to(torch::kCPU).contiguous();
  auto acc = ids_cpu.accessor<int64_t, 2>();
  std::vector<Sequence> out;
  for (int64_t item = 0; item < batch_; ++item) {
    auto& fin = finished_[static_cast<size_t>(item)];
    if (fin.size() < static_cast<size_t>(nb)) {
      std::vector<int64_t> order;
      for (int64_t row = item * nb; row < (item + 1) * nb; ++row) order.push_back(row);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return sum_logprobs_[static_cast<size_t>(a)] > sum_logprobs_[static_cast<size_t>(b)];
      });
      for (int64_t row : order) {
        auto seq = row_tokens(acc, row, ids_cpu.size(1));
        seq.push_back(o_.eot);
        add_finished(item, seq, sum_logprobs_[static_cast<size_t>(row)]);
        if (fin.size() >= static_cast<size_t>(nb)) break;
      }
    }
    out.push_back(fin[best_by_mean_logprob(fin, o_.prefix_len, o_.eot)]);
  }
  return out;
}

}  // namespace nlpc::models
