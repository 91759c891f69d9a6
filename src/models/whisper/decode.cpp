// Whisper window decoding (openai/whisper decoding.py semantics). See include/nlpc/models/whisper/decode.h.
#include "nlpc/models/whisper/decode.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/models/generation/beam_scorers.h"
#include "nlpc/models/generation/sessions.h"
#include "nlpc/text/tokenizer.h"

namespace nlpc::models {
namespace {

using Seq = std::vector<int64_t>;

nlohmann::json read_json_or_empty(const std::string& path) {
  if (!file_exists(path)) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, 0, 0, std::string("invalid JSON: ") + e.what());
  }
}

std::vector<int64_t> int_list(const nlohmann::json& j, const char* key, const std::string& file) {
  std::vector<int64_t> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (!j[key].is_array()) throw InputError(file, 0, 0, std::string("\"") + key + "\" must be a list of token ids");
  for (const auto& v : j[key]) out.push_back(v.get<int64_t>());
  return out;
}

}  // namespace

int64_t WhisperTokens::language_id(const std::string& code) const {
  for (const auto& [c, id] : languages) if (c == code) return id;
  return -1;
}

std::string WhisperTokens::language_code(int64_t id) const {
  for (const auto& [c, i] : languages) if (i == id) return c;
  return "";
}

namespace {
// openai/whisper's LANGUAGES (code, English name) and the extra names of TO_LANGUAGE_CODE.
constexpr std::pair<const char*, const char*> kLanguageNames[] = {
    {"en", "english"}, {"zh", "chinese"}, {"de", "german"}, {"es", "spanish"}, {"ru", "russian"},
    {"ko", "korean"}, {"fr", "french"}, {"ja", "japanese"}, {"pt", "portuguese"}, {"tr", "turkish"},
    {"pl", "polish"}, {"ca", "catalan"}, {"nl", "dutch"}, {"ar", "arabic"}, {"sv", "swedish"},
    {"it", "italian"}, {"id", "indonesian"}, {"hi", "hindi"}, {"fi", "finnish"}, {"vi", "vietnamese"},
    {"he", "hebrew"}, {"uk", "ukrainian"}, {"el", "greek"}, {"ms", "malay"}, {"cs", "czech"},
    {"ro", "romanian"}, {"da", "danish"}, {"hu", "hungarian"}, {"ta", "tamil"}, {"no", "norwegian"},
    {"th", "thai"}, {"ur", "urdu"}, {"hr", "croatian"}, {"bg", "bulgarian"}, {"lt", "lithuanian"},
    {"la", "latin"}, {"mi", "maori"}, {"ml", "malayalam"}, {"cy", "welsh"}, {"sk", "slovak"},
    {"te", "telugu"}, {"fa", "persian"}, {"lv", "latvian"}, {"bn", "bengali"}, {"sr", "serbian"},
    {"az", "azerbaijani"}, {"sl", "slovenian"}, {"kn", "kannada"}, {"et", "estonian"}, {"mk", "macedonian"},
    {"br", "breton"}, {"eu", "basque"}, {"is", "icelandic"}, {"hy", "armenian"}, {"ne", "nepali"},
    {"mn", "mongolian"}, {"bs", "bosnian"}, {"kk", "kazakh"}, {"sq", "albanian"}, {"sw", "swahili"},
    {"gl", "galician"}, {"mr", "marathi"}, {"pa", "punjabi"}, {"si", "sinhala"}, {"km", "khmer"},
    {"sn", "shona"}, {"yo", "yoruba"}, {"so", "somali"}, {"af", "afrikaans"}, {"oc", "occitan"},
    {"ka", "georgian"}, {"be", "belarusian"}, {"tg", "tajik"}, {"sd", "sindhi"}, {"gu", "gujarati"},
    {"am", "amharic"}, {"yi", "yiddish"}, {"lo", "lao"}, {"uz", "uzbek"}, {"fo", "faroese"},
    {"ht", "haitian creole"}, {"ps", "pashto"}, {"tk", "turkmen"}, {"nn", "nynorsk"}, {"mt", "maltese"},
    {"sa", "sanskrit"}, {"lb", "luxembourgish"}, {"my", "myanmar"}, {"bo", "tibetan"}, {"tl", "tagalog"},
    {"mg", "malagasy"}, {"as", "assamese"}, {"tt", "tatar"}, {"haw", "hawaiian"}, {"ln", "lingala"},
    {"ha", "hausa"}, {"ba", "bashkir"}, {"jw", "javanese"}, {"su", "sundanese"}, {"yue", "cantonese"},
    {"my", "burmese"}, {"ca", "valencian"}, {"nl", "flemish"}, {"ht", "haitian"}, {"lb", "letzeburgesch"},
    {"ps", "pushto"}, {"pa", "panjabi"}, {"ro", "moldavian"}, {"ro", "moldovan"}, {"si", "sinhalese"},
    {"es", "castilian"}, {"zh", "mandarin"},
};
}  // namespace

std::string language_name(const std::string& code) {
  for (const auto& [c, name] : kLanguageNames)
    if (code == c) return name;  // the first entry of a code is openai/whisper's LANGUAGES name
  return code;
}

std::string resolve_language(const WhisperTokens& t, const std::string& spec, const std::string& what) {
  std::string s;
  for (char c : spec) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (s.size() > 4 && s.rfind("<|", 0) == 0 && s.compare(s.size() - 2, 2, "|>") == 0) s = s.substr(2, s.size() - 4);
  if (t.language_id(s) >= 0) return s;
  for (const auto& [code, name] : kLanguageNames) {
    if (s == name && t.language_id(code) >= 0) return code;
  }
  if (t.languages.empty()) throw UsageError(what + " " + spec + ": this model is English-only");
  throw UsageError(what + ": unknown language '" + spec + "' (expected a code such as en or pt, or a name such as Portuguese)");
}

void check_whisper_vocabulary(const text::Tokenizer& tok, const WhisperTokens& t, int64_t vocab_size,
                              const std::string& tok_dir, const std::string& model_dir) {
  constexpr int64_t kTimestamps = 1501;  // <|0.00|> .. <|30.00|>
  const int64_t tok_size = static_cast<int64_t>(tok.vocab_size());
  const int64_t tok_no_ts = tok.token_to_id("<|notimestamps|>");
  std::string why;
  if (tok_size > vocab_size) {
    why = "the tokenizer has " + std::to_string(tok_size) + " tokens";
  } else if (t.timestamp_begin + kTimestamps > vocab_size) {
    why = "the tokenizer's timestamp tokens run from id " + std::to_string(t.timestamp_begin) + " to " +
          std::to_string(t.timestamp_begin + kTimestamps - 1);
  } else if (tok_no_ts >= 0 && tok_no_ts != t.no_timestamps) {
    why = "the tokenizer's <|notimestamps|> is id " + std::to_string(tok_no_ts) + " but the model's "
          "generation_config.json says " + std::to_string(t.no_timestamps);
  }
  if (why.empty()) return;
  throw InputError(tok_dir, 0, 0,
                   why + ", which does not fit the model " + (std::filesystem::path(model_dir) / "config.json").string() +
                       " (vocab_size " + std::to_string(vocab_size) +
                       "): the tokenizer belongs to another Whisper model; use the model's own (leave out "
                       "--tokenizer) or one of the same vocabulary size");
}

WhisperTokens load_whisper_tokens(const text::Tokenizer& tok, const std::string& model_dir) {
  namespace fs = std::filesystem;
  std::string gen_file = (fs::path(model_dir) / "generation_config.json").string();
  std::string cfg_file = (fs::path(model_dir) / "config.json").string();
  auto gen = read_json_or_empty(gen_file);
  auto cfg = read_json_or_empty(cfg_file);
  WhisperTokens t;
  auto id_of = [&](const std::string& s) { return static_cast<int64_t>(tok.token_to_id(s)); };
  t.eot = gen.value("eos_token_id", id_of("<|endoftext|>"));
  t.sot = gen.value("decoder_start_token_id", id_of("<|startoftranscript|>"));
  t.sot_prev = id_of("<|startofprev|>");
  t.sot_lm = id_of("<|startoflm|>");
  t.no_speech = id_of("<|nospeech|>") >= 0 ? id_of("<|nospeech|>") : id_of("<|nocaptions|>");
  t.no_timestamps = gen.value("no_timestamps_token_id", id_of("<|notimestamps|>"));
  t.transcribe = id_of("<|transcribe|>");
  t.translate = id_of("<|translate|>");
  if (gen.contains("task_to_id")) {
    t.transcribe = gen["task_to_id"].value("transcribe", t.transcribe);
    t.translate = gen["task_to_id"].value("translate", t.translate);
  }
  for (auto [name, id] : std::vector<std::pair<const char*, int64_t>>{
           {"<|endoftext|>", t.eot}, {"<|startoftranscript|>", t.sot}, {"<|notimestamps|>", t.no_timestamps}}) {
    if (id < 0) {
      throw InputError(model_dir, 0, 0, std::string("the tokenizer has no ") + name +
                                            " token: not a Whisper tokenizer (expected vocab.json + merges.txt "
                                            "or tokenizer.json with Whisper's special tokens)");
    }
  }
  t.timestamp_begin = t.no_timestamps + 1;
  // Tokenizer folders without the added tokens (whisper-*.en lists them only in
  // special_tokens_map.json): Whisper's specials precede <|notimestamps|> in a fixed order
  // (translate, transcribe, startoflm, startofprev, nospeech), as openai/whisper's tokenizer builds them.
  if (t.no_speech < 0) t.no_speech = t.no_timestamps - 1;
  if (t.sot_prev < 0) t.sot_prev = t.no_timestamps - 2;
  if (t.sot_lm < 0) t.sot_lm = t.no_timestamps - 3;
  if (t.transcribe < 0) t.transcribe = t.no_timestamps - 4;
  if (t.translate < 0) t.translate = t.no_timestamps - 5;
  if (gen.contains("lang_to_id") && gen["lang_to_id"].is_object()) {
    for (auto it = gen["lang_to_id"].begin(); it != gen["lang_to_id"].end(); ++it) {
      std::string k = it.key();
      if (k.size() > 4 && k.rfind("<|", 0) == 0) t.languages.emplace_back(k.substr(2, k.size() - 4), it.value().get<int64_t>());
    }
  } else {
    for (int64_t id = t.sot + 1; id < static_cast<int64_t>(tok.vocab_size()); ++id) {
      const std::string& s = tok.id_to_token(static_cast<int32_t>(id));
      if (s.size() < 5 || s.rfind("<|", 0) != 0 || s == "<|translate|>" || s == "<|transcribe|>") break;
      t.languages.emplace_back(s.substr(2, s.size() - 4), id);
    }
  }
  std::sort(t.languages.begin(), t.languages.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  t.multilingual = gen.value("is_multilingual", tok.vocab_size() >= 51865);
  t.suppress_tokens = int_list(gen, "suppress_tokens", gen_file);
  if (t.suppress_tokens.empty()) t.suppress_tokens = int_list(cfg, "suppress_tokens", cfg_file);
  // The model's language and task: "language"/"task" (newer transformers), else forced_decoder_ids.
  const nlohmann::json* forced = nullptr;
  if (gen.contains("forced_decoder_ids") && gen["forced_decoder_ids"].is_array()) forced = &gen["forced_decoder_ids"];
  else if (cfg.contains("forced_decoder_ids") && cfg["forced_decoder_ids"].is_array()) forced = &cfg["forced_decoder_ids"];
  if (forced) {
    for (const auto& e : *forced) {
      if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() || !e[1].is_number_integer()) continue;
      const int64_t pos = e[0].get<int64_t>(), id = e[1].get<int64_t>();
      if (pos == 1 && !t.language_code(id).empty()) t.default_language = t.language_code(id);
      if (id == t.translate) t.default_task = "translate";
      else if (id == t.transcribe) t.default_task = "transcribe";
    }
  }
  if (gen.contains("language") && gen["language"].is_string() && t.multilingual) {
    try {
      t.default_language = resolve_language(t, gen["language"].get<std::string>(), "language");
    } catch (const UsageError& e) {
      throw InputError(gen_file, 0, 0, std::string("\"language\": ") + e.what());
    }
  }
  if (gen.contains("task") && gen["task"].is_string()) {
    const std::string task = gen["task"].get<std::string>();
    if (task != "transcribe" && task != "translate") {
      throw InputError(gen_file, 0, 0, "\"task\": expected transcribe or translate, got '" + task + "'");
    }
    t.default_task = task;
  }
  if (!t.multilingual) t.default_language.clear();
  t.begin_suppress_tokens = int_list(gen, "begin_suppress_tokens", gen_file);
  if (t.begin_suppress_tokens.empty()) t.begin_suppress_tokens = int_list(cfg, "begin_suppress_tokens", cfg_file);
  if (t.begin_suppress_tokens.empty()) {
    int64_t space = id_of("\xC4\xA0");  // "Ġ": the byte-level BPE token of " "
    if (space >= 0) t.begin_suppress_tokens.push_back(space);
    t.begin_suppress_tokens.push_back(t.eot);
  }
  return t;
}

std::vector<int64_t> sot_sequence(const WhisperTokens& t, const DecodeOptions& opts) {
  std::vector<int64_t> seq;
  if (!opts.prompt.empty() && t.sot_prev >= 0) {
    seq.push_back(t.sot_prev);
    size_t keep = 448 / 2 - 1;
    size_t from = opts.prompt.size() > keep ? opts.prompt.size() - keep : 0;
    seq.insert(seq.end(), opts.prompt.begin() + static_cast<std::ptrdiff_t>(from), opts.prompt.end());
  }
  seq.push_back(t.sot);
  if (t.multilingual) {
    int64_t lang = t.language_id(opts.language.empty() ? "en" : opts.language);
    if (lang < 0) throw UsageError("--language: unknown language code '" + opts.language + "'");
    seq.push_back(lang);
    if (opts.task != "transcribe" && opts.task != "translate") {
      throw UsageError("--task: expected transcribe or translate, got '" + opts.task + "'");
    }
    seq.push_back(opts.task == "translate" ? t.translate : t.transcribe);
  } else if (opts.task == "translate") {
    throw UsageError("--task translate needs a multilingual model (this one is English-only)");
  }
  if (!opts.timestamps) seq.push_back(t.no_timestamps);
  return seq;
}

std::vector<std::pair<std::string, double>> detect_language(WhisperForConditionalGeneration& model,
                                                            const torch::Tensor& encoder_out,
                                                            const WhisperTokens& t) {
  torch::NoGradGuard no_grad;
  if (t.languages.empty()) throw RuntimeError("this Whisper vocabulary has no language tokens");
  auto logits = model->decode(torch::tensor({t.sot}).view({1, 1}).to(encoder_out.device()), encoder_out)[0][0].cpu();
  std::vector<int64_t> ids;
  for (const auto& l : t.languages) ids.push_back(l.second);
  auto probs = torch::softmax(logits.index_select(0, torch::tensor(ids)), -1);
  std::vector<std::pair<std::string, double>> out;
  for (size_t i = 0; i < ids.size(); ++i) out.emplace_back(t.languages[i].first, probs[i].item<double>());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

LogitsProcessorList whisper_logits_processors(const WhisperTokens& t, const DecodeOptions& opts,
                                              int64_t sample_begin) {
  LogitsProcessorList list;
  list.push_back(std::make_unique<SuppressBlankProcessor>(t.begin_suppress_tokens, sample_begin));
  std::vector<int64_t> suppress = t.suppress_tokens;
  for (int64_t id : {t.translate, t.transcribe, t.sot, t.sot_prev, t.sot_lm, t.no_speech}) {
    if (id >= 0) suppress.push_back(id);
  }
  list.push_back(std::make_unique<SuppressTokensProcessor>(std::move(suppress)));
  if (opts.timestamps) {
    TimestampRules rules;
    rules.eot = t.eot;
    rules.no_timestamps = t.no_timestamps;
    rules.timestamp_begin = t.timestamp_begin;
    rules.sample_begin = sample_begin;
    if (opts.max_initial_timestamp > 0)
      rules.max_initial_timestamp_index = std::llround(opts.max_initial_timestamp / 0.02);
    list.push_back(std::make_unique<TimestampRulesProcessor>(rules));
  }
  return list;
}

void apply_logit_filters(torch::Tensor& logits, const std::vector<std::vector<int64_t>>& tokens,
                         size_t sample_begin, const WhisperTokens& t, const DecodeOptions& opts) {
  // logits: [batch, vocab]; every row of `tokens` has the same length
  auto ids = torch::empty({static_cast<int64_t>(tokens.size()), static_cast<int64_t>(tokens[0].size())},
                          torch::kLong);
  for (size_t b = 0; b < tokens.size(); ++b)
    ids[static_cast<int64_t>(b)].copy_(torch::tensor(tokens[b], torch::kLong));
  apply_processors(whisper_logits_processors(t, opts, static_cast<int64_t>(sample_begin)), ids, logits);
}

double compression_ratio(const std::string& text) {
  if (text.empty()) return 0.0;
  uLongf out_len = compressBound(static_cast<uLong>(text.size()));
  std::vector<Bytef> out(out_len);
  if (compress2(out.data(), &out_len, reinterpret_cast<const Bytef*>(text.data()), static_cast<uLong>(text.size()), 6) !=
      Z_OK) {
    throw RuntimeError("zlib compress2 failed");
  }
  return static_cast<double>(text.size()) / static_cast<double>(out_len);
}

namespace {

// The best of the sampled rows (greedy: the only one) or the beam search winner, with its sum logprob.
Sequence search_window(WhisperSession& session, const LogitsProcessorList& processors,
                       const torch::Tensor& prefix, const SearchLimits& limits, const DecodeOptions& opts,
                       bool beam) {
  // prefix: [rows, sample_begin]
  const int64_t sample_begin = prefix.size(1);
  if (beam) {
    OpenaiBeamScorer scorer(1, {opts.beam_size, opts.patience, limits.eos, sample_begin});
    return beam_search(session, processors, prefix, limits, scorer)[0];
  }
  SamplingOptions s;
  s.do_sample = opts.temperature > 0;
  s.warpers = {opts.temperature, 0, 1.0};
  s.seed = opts.seed;
  s.draw_per_row = true;
  s.track_logprobs = true;
  auto rows = sample_search(session, processors, prefix, limits, s);
  auto cands = to_sequences(rows.ids, rows.sum_logprobs);
  return cands[best_by_mean_logprob(cands, sample_begin, limits.eos)];
}

}  // namespace

DecodeResult decode_window(WhisperForConditionalGeneration& model, const torch::Tensor& encoder_out,
                           const WhisperTokens& t, const text::Tokenizer& tok, const DecodeOptions& opts) {
  torch::NoGradGuard no_grad;
  const Seq init = sot_sequence(t, opts);
  const auto sample_begin = static_cast<int64_t>(init.size());
  const auto sot_index = static_cast<int64_t>(std::find(init.begin(), init.end(), t.sot) - init.begin());
  const int64_t n_ctx = model->config().max_target_positions;
  const bool beam = opts.beam_size > 0 && opts.temperature == 0;
  const int64_t rows = beam ? opts.beam_size : (opts.temperature > 0 ? std::max(1, opts.best_of) : 1);
  SearchLimits limits;
  limits.eos = limits.pad = t.eot;
  limits.max_length = n_ctx;
  limits.max_new_tokens = opts.max_new_tokens > 0 ? opts.max_new_tokens : n_ctx / 2;
  WhisperSession session(model, encoder_out, rows, sot_index);
  // prefix: [rows, sample_begin], the initial tokens in every row
  auto prefix = torch::tensor(init, torch::kLong).view({1, -1}).expand({rows, -1}).contiguous();
  const Sequence best =
      search_window(session, whisper_logits_processors(t, opts, sample_begin), prefix, limits, opts, beam);

  DecodeResult r;
  if (t.no_speech >= 0)
    r.no_speech_prob = torch::softmax(session.sot_logits(), -1)[t.no_speech].item<double>();
  auto from = best.tokens.begin() + sample_begin;  // the sampled part, up to the first EOT
  r.tokens.assign(from, std::find(from, best.tokens.end(), t.eot));
  r.sum_logprob = best.sum_logprobs;
  r.avg_logprob = r.sum_logprob / static_cast<double>(r.tokens.size() + 1);
  std::vector<int32_t> text_ids;
  for (auto id : r.tokens) if (id < t.eot) text_ids.push_back(static_cast<int32_t>(id));
  r.text = tok.decode(text_ids);
  auto b = r.text.find_first_not_of(" \t\n");
  auto e = r.text.find_last_not_of(" \t\n");
  r.text = b == std::string::npos ? "" : r.text.substr(b, e - b + 1);
  r.language = opts.language;
  r.temperature = opts.temperature;
  r.compression_ratio = compression_ratio(r.text);
  return r;
}

}  // namespace nlpc::models
