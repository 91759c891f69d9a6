// T5's and Whisper's DecoderSession implementations. See include/nlpc/models/generation/sessions.h.
#include "nlpc/models/generation/sessions.h"

#include "nlpc/core/error.h"
#include "nlpc/models/t5/t5.h"

namespace nlpc::models {
namespace {

class T5Session : public DecoderSession {
 public:
  T5Session(T5ForConditionalGenerationImpl& m, torch::Tensor enc, torch::Tensor mask, bool use_cache)
      : m_(m), enc_(std::move(enc)), mask_(std::move(mask)), use_cache_(use_cache), cache_(m.new_cache()) {}

  torch::Tensor next_logits(const torch::Tensor& ids) override {
    // ids: [rows, len] -> [rows, vocab]
    torch::Tensor logits;  // [rows, new, vocab]
    if (use_cache_) {
      auto fresh = ids.narrow(1, cache_.past_len, ids.size(1) - cache_.past_len);
      logits = m_.decode(fresh, enc_, mask_, {}, &cache_);
    } else {
      logits = m_.decode(ids, enc_, mask_);
    }
    return logits.select(1, logits.size(1) - 1);
  }
  void reorder(const torch::Tensor& index) override { cache_.reorder(index); }

 private:
  T5ForConditionalGenerationImpl& m_;
  torch::Tensor enc_, mask_;  // [rows, src, d_model], [rows, src]
  bool use_cache_;
  T5DecoderCache cache_;
};

class T5Generator : public Seq2SeqGenerator {
 public:
  explicit T5Generator(T5ForConditionalGenerationImpl& m) : m_(m) {}
  std::unique_ptr<DecoderSession> start(const torch::Tensor& ids, const torch::Tensor& mask, int64_t repeat,
                                        bool use_cache) override {
    auto enc = m_.encode(ids, mask);  // [batch, src, d_model]
    auto m = mask;
    if (repeat > 1) {
      enc = enc.repeat_interleave(repeat, 0);
      if (m.defined()) m = m.repeat_interleave(repeat, 0);
    }
    return std::make_unique<T5Session>(m_, enc, m, use_cache);
  }
  int64_t decoder_start_token_id() const override {
    if (!m_.config().decoder_start_token_id)
      throw InputError(
          "config.json has no decoder_start_token_id (T5 uses 0); add it or set it in "
          "generation_config.json");
    return *m_.config().decoder_start_token_id;
  }
  int64_t eos_token_id() const override { return m_.config().eos_token_id; }
  int64_t pad_token_id() const override { return m_.config().pad_token_id; }

 private:
  T5ForConditionalGenerationImpl& m_;
};

}  // namespace

std::unique_ptr<Seq2SeqGenerator> make_t5_generator(T5ForConditionalGenerationImpl& model) {
  return std::make_unique<T5Generator>(model);
}

WhisperSession::WhisperSession(WhisperForConditionalGeneration& model, const torch::Tensor& encoder_out,
                               int64_t rows, int64_t sot_index)
    : model_(model),
      enc_(encoder_out.size(0) == rows ? encoder_out
                                       : encoder_out.expand({rows, encoder_out.size(1), encoder_out.size(2)}).contiguous()),
      sot_index_(sot_index),
      cache_(model->make_cache()) {}

torch::Tensor WhisperSession::next_logits(const torch::Tensor& ids) {
  // ids: [rows, len]; the cache holds the first `past` positions
  const int64_t past = cache_.length();
  auto fresh = ids.narrow(1, past, ids.size(1) - past).to(enc_.device());  // [rows, new]
  auto logits = model_->decode(fresh, enc_, &cache_).cpu();                // [rows, new, vocab]
  if (past == 0) sot_logits_ = logits[0][sot_index_].clone();
  return logits.select(1, logits.size(1) - 1).clone();  // [rows, vocab]
}

void WhisperSession::reorder(const torch::Tensor& index) { cache_.reorder(index.to(enc_.device())); }

}  // namespace nlpc::models
