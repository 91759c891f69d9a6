#pragma once
// The two beam scorers of the engine's beam_search (engine.h).
//
// HfBeamScorer: transformers 4.33 BeamSearchScorer / BeamHypotheses.
//  - processors see log_softmax scores; 2 * num_beams candidates per batch item and step from those
//    plus the running beam scores (only the first beam is live at the start); an eos candidate
//    ranked within the first num_beams becomes a hypothesis scored sum_logprobs / len(hyp)**length_penalty
//    (hyp without the eos, prefix included);
//  - a batch item is done when it holds num_beams hypotheses and early stopping says so: true at
//    once, false when the best running score / cur_len**lp cannot beat the worst kept hypothesis,
//    "never" with max_length instead of cur_len when length_penalty > 0; done items run on pad;
//  - at the end the running beams of unfinished items are added as hypotheses; the best one wins,
//    followed by eos when it is shorter than max_length.
//
// OpenaiBeamScorer: openai/whisper BeamSearchDecoder + MaximumLikelihoodRanker (no length penalty).
//  - processors see raw logits; every beam proposes its top beam_size + 1 tokens scored by the
//    running sum logprob, equal sequences merged (the last proposal wins), then taken in decreasing
//    score: eot sequences are finished candidates, the others the next beams until beam_size;
//  - finished candidates are kept up to round(beam_size * patience) (max_candidates); an item is
//    done when it has that many;
//  - at the end, when fewer than beam_size are finished, the running beams (best first, eot
//    appended) fill up to beam_size; the winner has the highest sum logprob / length.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "nlpc/models/generation/engine.h"

namespace nlpc::models {

enum class EarlyStopping { kFalse, kTrue, kNever };

struct HfBeamOptions {
  int64_t num_beams = 1;
  double length_penalty = 1.0;
  EarlyStopping early_stopping = EarlyStopping::kFalse;
  int64_t max_length = 20;  // row length limit, prefix included
  int64_t eos = -1, pad = -1;
};

class HfBeamScorer : public BeamScorer {
 public:
  // torch::Device: where the running beam scores live (the rows' device).
  HfBeamScorer(int64_t batch, const HfBeamOptions& o, torch::Device device);
  bool process_before_log_softmax() const override { return false; }
  BeamStep step(const torch::Tensor& ids, const torch::Tensor& logprobs) override;
  bool is_done() const override;
  std::vector<Sequence> finalize(const torch::Tensor& ids) override;

  struct Hypothesis {
    double score;
    double sum_logprobs;
    std::vector<int64_t> tokens;
  };
  // transformers' BeamHypotheses: the num_beams best hypotheses of one batch item.
  class Hypotheses {
   public:
    explicit Hypotheses(const HfBeamOptions& o) : o_(o) {}
    void add(std::vector<int64_t> tokens, double sum_logprobs);
    bool is_done(double best_sum_logprobs, int64_t cur_len) const;
    const Hypothesis& best() const;  // highest score; among equal scores the one added last

   private:
    HfBeamOptions o_;
    std::vector<Hypothesis> beams_;
    double worst_ = 1e9;
  };

 private:
  int64_t batch_;
  HfBeamOptions o_;
  torch::Tensor beam_scores_;  // [batch * beams] float
  std::vector<Hypotheses> hyps_;
  std::vector<bool> done_;
};

struct OpenaiBeamOptions {
  int64_t beam_size = 5;
  double patience = 1.0;
  int64_t eot = -1;
  int64_t prefix_len = 0;  // initial tokens of every row (sample_begin), not counted in the ranking length
};

class OpenaiBeamScorer : public BeamScorer {
 public:
  OpenaiBeamScorer(int64_t batch, const OpenaiBeamOptions& o);
  bool process_before_log_softmax() const override { return true; }
  BeamStep step(const torch::Tensor& ids, const torch::Tensor& logprobs) override;
  bool is_done() const override;
  std::vector<Sequence> finalize(const torch::Tensor& ids) override;

 private:
  struct Candidate {
    std::vector<int64_t> seq;
    double score;
    int64_t source;
  };
  // Candidates of batch item `item`, best first. ids: [rows, len] on the CPU; logprobs: [rows, vocab].
  std::vector<Candidate> candidates(int64_t item, const torch::Tensor& ids,
                                    const torch::Tensor& logprobs) const;
  void add_finished(int64_t item, const std::vector<int64_t>& seq, double score);

  int64_t batch_;
  OpenaiBeamOptions o_;
  size_t max_candidates_;
  std::vector<double> sum_logprobs_;             // [batch * beam_size] running beams
  std::vector<std::vector<Sequence>> finished_;  // per item, in insertion order
};

}  // namespace nlpc::models
