// Hugging Face generate() on the decoding engine: generation options, generation_config.json, the
// HF logits processors and the greedy / sampling / beam-search dispatch.
// See include/nlpc/models/generation/hf_generate.h.
#include "nlpc/models/generation/hf_generate.h"

#include <filesystem>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/models/generation/sessions.h"
#include "nlpc/models/t5/t5.h"

namespace nlpc::models {

// --------------------------------------------------------------------------------------- options

EarlyStopping parse_early_stopping(const std::string& s) {
  if (s == "true") return EarlyStopping::kTrue;
  if (s == "false") return EarlyStopping::kFalse;
  if (s == "never") return EarlyStopping::kNever;
  throw UsageError("early_stopping must be true, false or never, got '" + s + "'");
}

std::string early_stopping_name(EarlyStopping e) {
  switch (e) {
    case EarlyStopping::kTrue:
      return "true";
    case EarlyStopping::kFalse:
      return "false";
    default:
      return "never";
  }
}

void GenerationOptions::validate() const {
  auto fail = [](const std::string& m) { throw UsageError(m); };
  if (num_beams < 1) fail("num_beams must be >= 1, got " + std::to_string(num_beams));
  if (do_sample && num_beams > 1)
    fail("sampling with num_beams > 1 (beam sampling) is not supported; use one of them");
  if (max_new_tokens == 0) fail("max_new_tokens must be >= 1 (or unset)");
  if (max_new_tokens < 0 && max_length < 2)
    fail("max_length must be >= 2 (it counts the decoder start token)");
  if (min_length < 0) fail("min_length must be >= 0");
  if (no_repeat_ngram_size < 0) fail("no_repeat_ngram_size must be >= 0");
  if (!(temperature > 0.0)) fail("temperature must be > 0, got " + std::to_string(temperature));
  if (top_k < 0) fail("top_k must be >= 0 (0 disables it)");
  if (!(top_p > 0.0 && top_p <= 1.0)) fail("top_p must be in (0, 1], got " + std::to_string(top_p));
}

namespace {

template <typename T>
bool get_opt(const nlohmann::json& j, const char* key, T& out, const std::string& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  bool ok = std::is_same_v<T, bool> ? it->is_boolean()
            : std::is_integral_v<T> ? it->is_number_integer()
                                    : it->is_number();
  if (!ok)
    throw InputError(file, 0, 0,
                     std::string("generation config key '") + key + "' has the wrong type: " + it->dump());
  out = it->get<T>();
  return true;
}

}  // namespace

void apply_generation_config(GenerationOptions& o, const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw InputError(file, 0, 0, "generation_config.json must be a JSON object");
  get_opt(j, "max_new_tokens", o.max_new_tokens, file);
  get_opt(j, "max_length", o.max_length, file);
  get_opt(j, "min_length", o.min_length, file);
  get_opt(j, "do_sample", o.do_sample, file);
  get_opt(j, "num_beams", o.num_beams, file);
  get_opt(j, "length_penalty", o.length_penalty, file);
  get_opt(j, "no_repeat_ngram_size", o.no_repeat_ngram_size, file);
  get_opt(j, "temperature", o.temperature, file);
  get_opt(j, "top_k", o.top_k, file);
  get_opt(j, "top_p", o.top_p, file);
  get_opt(j, "use_cache", o.use_cache, file);
  if (auto it = j.find("early_stopping"); it != j.end() && !it->is_null()) {
    if (it->is_boolean()) {
      o.early_stopping = it->get<bool>() ? EarlyStopping::kTrue : EarlyStopping::kFalse;
    } else if (it->is_string() && it->get<std::string>() == "never") {
      o.early_stopping = EarlyStopping::kNever;
    } else {
      throw InputError(file, 0, 0, "early_stopping must be true, false or \"never\", got " + it->dump());
    }
  }
  int64_t v = 0;
  if (get_opt(j, "decoder_start_token_id", v, file)) o.decoder_start_token_id = v;
  if (get_opt(j, "pad_token_id", v, file)) o.pad_token_id = v;
  if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null()) {
    if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) {
      o.eos_token_id = (*it)[0].get<int64_t>();  // several eos ids: only the first is honoured
    } else if (it->is_number_integer()) {
      o.eos_token_id = it->get<int64_t>();
    } else {
      throw InputError(file, 0, 0,
                       "eos_token_id must be an integer or a list of integers, got " + it->dump());
    }
  }
}

GenerationOptions load_generation_options(const std::string& dir) {
  GenerationOptions o;
  const std::string file = (std::filesystem::path(dir) / "generation_config.json").string();
  if (!file_exists(file)) return o;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(file, 0, 0, std::string("invalid JSON: ") + e.what());
  }
  apply_generation_config(o, j, file);
  return o;
}

// ------------------------------------------------------------------------------ generate

LogitsProcessorList hf_logits_processors(const GenerationOptions& o, int64_t eos) {
  LogitsProcessorList list;
  if (o.no_repeat_ngram_size > 0)
    list.push_back(std::make_unique<NoRepeatNgramProcessor>(o.no_repeat_ngram_size));
  if (o.min_length > 0) list.push_back(std::make_unique<MinLengthProcessor>(o.min_length, eos));
  return list;
}

torch::Tensor generate(Seq2SeqGenerator& model, const torch::Tensor& input_ids,
                       const torch::Tensor& attention_mask, const GenerationOptions& o) {
  o.validate();
  torch::NoGradGuard no_grad;
  const int64_t start = o.decoder_start_token_id ? *o.decoder_start_token_id : model.decoder_start_token_id();
  SearchLimits limits;
  limits.eos = o.eos_token_id ? *o.eos_token_id : model.eos_token_id();
  limits.pad = o.pad_token_id ? *o.pad_token_id : model.pad_token_id();
  limits.max_length = o.length_limit();
  const int64_t batch = input_ids.size(0);
  const auto device = input_ids.device();
  auto session = model.start(input_ids, attention_mask, o.num_beams, o.use_cache);
  const auto processors = hf_logits_processors(o, limits.eos);
  auto prefix =
      torch::full({batch * o.num_beams, 1}, start, torch::TensorOptions().dtype(torch::kLong).device(device));
  if (o.num_beams > 1) {
    HfBeamScorer scorer(
        batch, {o.num_beams, o.length_penalty, o.early_stopping, limits.max_length, limits.eos, limits.pad},
        device);
    return pad_sequences(beam_search(*session, processors, prefix, limits, scorer), limits.pad, device);
  }
  SamplingOptions s;
  s.do_sample = o.do_sample;
  s.warpers = {o.temperature, o.top_k, o.top_p};
  s.seed = o.seed;
  return sample_search(*session, processors, prefix, limits, s).ids;
}

torch::Tensor generate(T5ForConditionalGenerationImpl& model, const torch::Tensor& input_ids,
                       const torch::Tensor& attention_mask, const GenerationOptions& options) {
  // dropout must be off while decoding; a model in training mode (validation during training) is
  // switched to eval mode for the call and switched back afterwards
  const bool was_training = model.is_training();
  if (was_training) model.eval();
  try {
    auto g = make_t5_generator(model);
    auto out = generate(*g, input_ids, attention_mask, options);
    if (was_training) model.train();
    return out;
  } catch (...) {
    if (was_training) model.train();
    throw;
  }
}

}  // namespace nlpc::models
