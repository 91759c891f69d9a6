#pragma once
// The models' side of the decoding engine: T5's and Whisper's DecoderSession implementations.
#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "nlpc/models/generation/engine.h"
#include "nlpc/models/generation/hf_generate.h"
#include "nlpc/models/whisper/whisper.h"

namespace nlpc::models {

// T5 as a Seq2SeqGenerator: start() encodes the sources once (rows repeated for beams); its
// sessions decode with the self-attention cache (only the new tokens per step) or, without cache,
// the whole rows every step.
std::unique_ptr<Seq2SeqGenerator> make_t5_generator(T5ForConditionalGenerationImpl& model);

// Whisper decoding over one encoder output, with K/V caches: the first call runs the whole prefix
// (the initial tokens), later calls only the tokens added since. Logits come back on the CPU (the
// Whisper logit filters run there). The logits of row 0 at `sot_index` of the first call are kept
// for the no-speech probability.
class WhisperSession : public DecoderSession {
 public:
  // encoder_out: [1, src, d_model], shared by `rows` rows, or [rows, src, d_model] (one clip per row).
  WhisperSession(WhisperForConditionalGeneration& model, const torch::Tensor& encoder_out, int64_t rows,
                 int64_t sot_index);
  torch::Tensor next_logits(const torch::Tensor& ids) override;  // ids: [rows, len] -> [rows, vocab]
  void reorder(const torch::Tensor& index) override;
  // [vocab] logits after <|startoftranscript|> (undefined before the first next_logits call).
  const torch::Tensor& sot_logits() const { return sot_logits_; }

 private:
  WhisperForConditionalGeneration& model_;
  torch::Tensor enc_;  // [rows, src, d_model]
  int64_t sot_index_;
  WhisperCache cache_;
  torch::Tensor sot_logits_;
};

}  // namespace nlpc::models
