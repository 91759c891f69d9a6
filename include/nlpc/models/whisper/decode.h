#pragma once
// Whisper decoding of one 30 s window, following openai/whisper's decoding.py, on the shared
// decoding engine (nlpc/models/generation/engine.h):
//   initial tokens [<|startofprev|> prompt...] <|startoftranscript|> [<|lang|> <|task|>] [<|notimestamps|>]
//   logits processors: SuppressBlank (begin_suppress_tokens at the first sampled position),
//   SuppressTokens (generation_config suppress_tokens + the task/SOT/no-speech specials) and
//   ApplyTimestampRules (paired timestamps, non-decreasing, max initial timestamp 1.0 s, timestamp
//   forced when their total probability beats every text token);
//   greedy (temperature 0), sampling (temperature > 0, best_of candidates) or beam search with the
//   openai beam scorer (beam_size, patience 1.0); candidates ranked by sum logprob / length.
// Whisper's own parts stay here: the no-speech probability from the logits at the
// <|startoftranscript|> position, language detection, the compression ratio (temperature fallback
// is whisper_transcribe's).
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "nlpc/models/generation/logits_processors.h"
#include "nlpc/models/whisper/whisper.h"

namespace nlpc::text {
class Tokenizer;
}

namespace nlpc::models {

// Special token ids of a Whisper vocabulary (multilingual or .en).
struct WhisperTokens {
  int64_t eot = -1, sot = -1, sot_prev = -1, sot_lm = -1, no_speech = -1;
  int64_t transcribe = -1, translate = -1, no_timestamps = -1, timestamp_begin = -1;
  std::vector<std::pair<std::string, int64_t>> languages;  // code -> token id, in id order
  bool multilingual = false;
  std::vector<int64_t> suppress_tokens;        // generation_config.json (or config.json)
  std::vector<int64_t> begin_suppress_tokens;  // generation_config.json, default [" ", eot]
  // The model's own language and task, as HF generate() takes them: generation_config.json
  // "language" / "task", else the forced_decoder_ids of generation_config.json (or config.json):
  // [1, <|xx|>] and [2, <|transcribe|> or <|translate|>]. default_language "" = detect.
  std::string default_language;
  std::string default_task = "transcribe";

  int64_t language_id(const std::string& code) const;  // -1 when unknown
  std::string language_code(int64_t id) const;          // "" when not a language token
};

// A language as a code known to the vocabulary: accepts "pt", "<|pt|>" and English names
// ("Portuguese", "castilian", ...: openai/whisper's LANGUAGES and TO_LANGUAGE_CODE), any case.
// Throws UsageError naming `what` when the vocabulary has no such language token.
std::string resolve_language(const WhisperTokens& t, const std::string& spec, const std::string& what = "--language");
// openai/whisper's English name of a language code ("pt" -> "portuguese"); the code when unknown.
std::string language_name(const std::string& code);

// Reads the ids from the tokenizer and <model_dir>/generation_config.json (config.json as fallback
// for suppress lists). Throws InputError when a required special token is missing.
WhisperTokens load_whisper_tokens(const text::Tokenizer& tok, const std::string& model_dir);

// Checks that a tokenizer (from `tok_dir`) fits a model of `vocab_size` (from model_dir/config.json):
// no more tokens than the model's vocabulary, the 1,501 timestamp tokens after <|notimestamps|>
// inside it, and the tokenizer's <|notimestamps|> where the model's generation_config.json puts it.
// Throws InputError naming both files (instead of libtorch's "index out of range" mid-decoding).
void check_whisper_vocabulary(const text::Tokenizer& tok, const WhisperTokens& t, int64_t vocab_size,
                              const std::string& tok_dir, const std::string& model_dir);

struct DecodeOptions {
  std::string task = "transcribe";  // or "translate"
  std::string language;             // code ("en"); empty: none (English-only models)
  bool timestamps = true;
  double temperature = 0.0;
  int beam_size = 0;  // 0 = greedy / sampling
  int best_of = 1;    // candidates when sampling (temperature > 0)
  double patience = 1.0;
  int max_new_tokens = 0;  // 0 = n_text_ctx / 2 (224)
  double max_initial_timestamp = 1.0;
  std::vector<int64_t> prompt;  // previous text tokens (condition_on_previous_text)
  uint64_t seed = 0;            // sampling
};

struct DecodeResult {
  std::vector<int64_t> tokens;  // sampled tokens without EOT (timestamps included)
  std::string text;             // text tokens decoded
  std::string language;
  double avg_logprob = 0;
  double sum_logprob = 0;
  double no_speech_prob = 0;
  double temperature = 0;
  double compression_ratio = 0;
};

// The initial token sequence for `opts` (prompt, SOT, language, task, no-timestamps).
std::vector<int64_t> sot_sequence(const WhisperTokens& t, const DecodeOptions& opts);

// Language probabilities (code -> probability, sorted by decreasing probability) from the logits
// after <|startoftranscript|>. encoder_out: [1, src, d_model].
std::vector<std::pair<std::string, double>> detect_language(WhisperForConditionalGeneration& model,
                                                            const torch::Tensor& encoder_out,
                                                            const WhisperTokens& t);

// Decodes one window. encoder_out: [1, src, d_model].
DecodeResult decode_window(WhisperForConditionalGeneration& model, const torch::Tensor& encoder_out,
                           const WhisperTokens& t, const text::Tokenizer& tok, const DecodeOptions& opts);

// The logits processors of a window: SuppressBlank, SuppressTokens, and ApplyTimestampRules when
// opts.timestamps. sample_begin: length of the initial tokens.
LogitsProcessorList whisper_logits_processors(const WhisperTokens& t, const DecodeOptions& opts,
                                              int64_t sample_begin);

// Applies whisper_logits_processors to logits [batch, vocab] in place. tokens: one sequence per row
// (initial tokens included, every row as long); sample_begin: length of the initial tokens.
void apply_logit_filters(torch::Tensor& logits, const std::vector<std::vector<int64_t>>& tokens,
                         size_t sample_begin, const WhisperTokens& t, const DecodeOptions& opts);

// len(utf8) / len(zlib.compress(utf8)) as openai/whisper computes it (zlib level 6).
double compression_ratio(const std::string& text);

}  // namespace nlpc::models
