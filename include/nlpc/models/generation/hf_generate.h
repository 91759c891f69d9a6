#pragma once
// Text generation for encoder-decoder models with Hugging Face `generate()` semantics
// (transformers 4.33: greedy_search, sample, beam_search with BeamSearchScorer/BeamHypotheses),
// on the shared decoding engine (engine.h):
//  - greedy (num_beams 1, do_sample false), multinomial sampling (temperature, top_k, top_p; seeded),
//    beam search (num_beams > 1; length_penalty: score = sum_logprobs / len(hyp)**length_penalty where
//    len(hyp) counts the decoder start token and not the eos; early_stopping true/false/"never").
//  - logits processors: no_repeat_ngram_size, then min_length (eos is banned while the decoder
//    sequence, start token included, is shorter than min_length).
//  - length limit: max_new_tokens when set, else max_length (total decoder length, start token
//    included, HF default 20).
// Output rows start with the decoder start token; finished rows are padded with pad_token_id.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "nlpc/models/generation/beam_scorers.h"
#include "nlpc/models/generation/engine.h"
#include "nlpc/models/generation/logits_processors.h"

namespace nlpc::models {

class T5ForConditionalGenerationImpl;

// Field names are those of transformers.GenerationConfig; defaults are its defaults.
struct GenerationOptions {
  int64_t max_new_tokens = -1;  // -1: unset (max_length applies)
  int64_t max_length = 20;
  int64_t min_length = 0;
  bool do_sample = false;
  int64_t num_beams = 1;
  double length_penalty = 1.0;
  EarlyStopping early_stopping = EarlyStopping::kFalse;
  int64_t no_repeat_ngram_size = 0;
  double temperature = 1.0;
  int64_t top_k = 50;
  double top_p = 1.0;
  uint64_t seed = 0;
  bool use_cache = true;
  // Token ids; unset values come from the model config.
  std::optional<int64_t> decoder_start_token_id, eos_token_id, pad_token_id;

  // Total decoder length limit, start token included.
  int64_t length_limit() const { return max_new_tokens >= 0 ? max_new_tokens + 1 : max_length; }
  // Throws UsageError naming the bad option (num_beams < 1, temperature <= 0, top_p outside (0, 1],
  // sampling with beams, ...).
  void validate() const;
};

EarlyStopping parse_early_stopping(const std::string& s);  // "true" | "false" | "never"
std::string early_stopping_name(EarlyStopping e);

// Overrides the fields present in a generation_config.json object (other keys are ignored; wrong
// types are InputErrors naming `file`). eos_token_id may be a list: its first element is used.
void apply_generation_config(GenerationOptions& o, const nlohmann::json& j, const std::string& file);
// Options for a model folder: defaults, then <dir>/generation_config.json when present.
GenerationOptions load_generation_options(const std::string& dir);

// HF's logits processors for `o` (no_repeat_ngram, min_length), in HF's order.
LogitsProcessorList hf_logits_processors(const GenerationOptions& o, int64_t eos);

// Something that can start a decoding session for (already encoded) source rows.
class Seq2SeqGenerator {
 public:
  virtual ~Seq2SeqGenerator() = default;
  // input_ids, attention_mask: [batch, src]. `repeat` copies each row that many times (beams),
  // consecutively (row b*repeat + j).
  virtual std::unique_ptr<DecoderSession> start(const torch::Tensor& input_ids,
                                                const torch::Tensor& attention_mask, int64_t repeat,
                                                bool use_cache) = 0;
  virtual int64_t decoder_start_token_id() const = 0;
  virtual int64_t eos_token_id() const = 0;
  virtual int64_t pad_token_id() const = 0;
};

// input_ids, attention_mask: [batch, src] (padding marked 0 in the mask). Returns [batch, len] int64
// on the input's device. Runs under NoGradGuard; the T5 overload runs the model in eval() mode (and
// restores training mode afterwards).
torch::Tensor generate(Seq2SeqGenerator& model, const torch::Tensor& input_ids,
                       const torch::Tensor& attention_mask, const GenerationOptions& options);
torch::Tensor generate(T5ForConditionalGenerationImpl& model, const torch::Tensor& input_ids,
                       const torch::Tensor& attention_mask, const GenerationOptions& options);

}  // namespace nlpc::models
