// Generation options, HF logits processors/warpers, greedy search and sampling, and the T5 adapter.
#include "nlpc/models/generation.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <limits>
#include <map>
#include <vector>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/signals.h"
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
    case EarlyStopping::kTrue: return "true";
    case EarlyStopping::kFalse: return "false";
    default: return "never";
  }
}

void GenerationOptions::validate() const {
  auto fail = [](const std::string& m) { throw UsageError(m); };
  if (num_beams < 1) fail("num_beams must be >= 1, got " + std::to_string(num_beams));
  if (do_sample && num_beams > 1) fail("sampling with num_beams > 1 (beam sampling) is not supported; use one of them");
  if (max_new_tokens == 0) fail("max_new_tokens must be >= 1 (or unset)");
  if (max_new_tokens < 0 && max_length < 2) fail("max_length must be >= 2 (it counts the decoder start token)");
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
    throw InputError(file, 0, 0, std::string("generation config key '") + key + "' has the wrong type: " + it->dump());
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
      throw InputError(file, 0, 0, "eos_token_id must be an integer or a list of integers, got " + it->dump());
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

// ------------------------------------------------------------------------------ processors

namespace detail {

void process_logits(const torch::Tensor& ids, torch::Tensor& scores, const GenerationOptions& o, int64_t eos) {
  // ids: [rows, cur_len]; scores: [rows, vocab]
  const int64_t n = o.no_repeat_ngram_size;
  const int64_t cur_len = ids.size(1);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (n > 0 && cur_len + 1 >= n) {
    auto cpu = ids.to(torch::kCPU).contiguous();
    auto acc = cpu.accessor<int64_t, 2>();
    std::vector<int64_t> rows, cols;
    for (int64_t r = 0; r < cpu.size(0); ++r) {
      // n-grams already generated whose first n-1 tokens equal the last n-1 tokens of the row
      for (int64_t s = 0; s + n <= cur_len; ++s) {
        bool match = true;
        for (int64_t k = 0; k < n - 1 && match; ++k) match = acc[r][s + k] == acc[r][cur_len + 1 - n + k];
        if (match) {
          rows.push_back(r);
          cols.push_back(acc[r][s + n - 1]);
        }
      }
    }
    if (!rows.empty()) {
      auto r = torch::tensor(rows, torch::kLong).to(scores.device());
      auto c = torch::tensor(cols, torch::kLong).to(scores.device());
      scores.index_put_({r, c}, neg_inf);
    }
  }
  if (o.min_length > 0 && cur_len < o.min_length && eos >= 0 && eos < scores.size(1))
    scores.select(1, eos).fill_(neg_inf);
}

torch::Tensor warp_logits(torch::Tensor scores, const GenerationOptions& o) {
  // scores: [rows, vocab]
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (o.temperature != 1.0) scores = scores / o.temperature;
  if (o.top_k > 0) {
    const int64_t k = std::min(std::max<int64_t>(o.top_k, 1), scores.size(-1));
    auto kth = std::get<0>(torch::topk(scores, k)).narrow(-1, k - 1, 1);  // [rows, 1]
    scores = scores.masked_fill(scores < kth, neg_inf);
  }
  if (o.top_p < 1.0) {
    auto [sorted, idx] = torch::sort(scores, /*dim=*/-1, /*descending=*/false);
    auto cum = sorted.softmax(-1).cumsum(-1);
    auto remove = cum <= (1.0 - o.top_p);
    remove.narrow(-1, remove.size(-1) - 1, 1).fill_(false);  // keep at least one token
    remove = remove.scatter(1, idx, remove);
    scores = scores.masked_fill(remove, neg_inf);
  }
  return scores;
}

torch::Tensor greedy_or_sample(DecoderSession& s, int64_t batch, const GenerationOptions& o, int64_t start,
                               int64_t eos, int64_t pad, torch::Device device) {
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto ids = torch::full({batch, 1}, start, opts);  // [batch, len]
  auto unfinished = torch::ones({batch}, opts);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const int64_t limit = o.length_limit();
  while (true) {
    check_interrupted();
    auto scores = s.next_logits(ids);  // [batch, vocab]
    process_logits(ids, scores, o, eos);
    torch::Tensor next;
    if (o.do_sample) {
      auto probs = torch::softmax(warp_logits(scores, o), -1).to(torch::kCPU);
      next = torch::multinomial(probs, 1, /*replacement=*/false, gen).squeeze(1).to(device);
    } else {
      next = scores.argmax(-1);
    }
    next = next * unfinished + pad * (1 - unfinished);
    ids = torch::cat({ids, next.unsqueeze(1)}, 1);
    unfinished = unfinished * (next != eos).to(torch::kLong);
    if (unfinished.max().item<int64_t>() == 0 || ids.size(1) >= limit) return ids;
  }
}

}  // namespace detail

// ------------------------------------------------------------------------------ T5 adapter

namespace {

class T5Session : public DecoderSession {
 public:
  T5Session(T5ForConditionalGenerationImpl& m, torch::Tensor enc, torch::Tensor mask, bool use_cache)
      : m_(m), enc_(std::move(enc)), mask_(std::move(mask)), use_cache_(use_cache), cache_(m.new_cache()) {}

  torch::Tensor next_logits(const torch::Tensor& ids) override {
    // ids: [rows, len] -> [rows, vocab]
    torch::Tensor logits;
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
  torch::Tensor enc_, mask_;
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
      throw InputError("config.json has no decoder_start_token_id (T5 uses 0); add it or set it in generation_config.json");
    return *m_.config().decoder_start_token_id;
  }
  int64_t eos_token_id() const override { return m_.config().eos_token_id; }
  int64_t pad_token_id() const override { return m_.config().pad_token_id; }

 private:
  T5ForConditionalGenerationImpl& m_;
};

}  // namespace

torch::Tensor generate(Seq2SeqGenerator& model, const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                       const GenerationOptions& o) {
  o.validate();
  torch::NoGradGuard no_grad;
  const int64_t start = o.decoder_start_token_id ? *o.decoder_start_token_id : model.decoder_start_token_id();
  const int64_t eos = o.eos_token_id ? *o.eos_token_id : model.eos_token_id();
  const int64_t pad = o.pad_token_id ? *o.pad_token_id : model.pad_token_id();
  const int64_t batch = input_ids.size(0);
  auto session = model.start(input_ids, attention_mask, o.num_beams, o.use_cache);
  if (o.num_beams > 1) return detail::beam_search(*session, batch, o, start, eos, pad, input_ids.device());
  return detail::greedy_or_sample(*session, batch, o, start, eos, pad, input_ids.device());
}

torch::Tensor generate(T5ForConditionalGenerationImpl& model, const torch::Tensor& input_ids,
                       const torch::Tensor& attention_mask, const GenerationOptions& options) {
  // dropout must be off while decoding; a model in training mode (validation during training) is
  // switched to eval mode for the call and switched back afterwards
  const bool was_training = model.is_training();
  if (was_training) model.eval();
  try {
    T5Generator g(model);
    auto out = generate(g, input_ids, attention_mask, options);
    if (was_training) model.train();
    return out;
  } catch (...) {
    if (was_training) model.train();
    throw;
  }
}

}  // namespace nlpc::models
