// Whisper window decoding (openai/whisper decoding.py semantics). See include/nlpc/models/whisper_decode.h.
#include "nlpc/models/whisper_decode.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/signals.h"
#include "nlpc/text/tokenizer.h"

namespace nlpc::models {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
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

// Candidate scoring of openai's MaximumLikelihoodRanker without length penalty.
size_t best_candidate(const std::vector<Seq>& tokens, const std::vector<double>& sum_logprobs) {
  size_t best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < tokens.size(); ++i) {
    double score = sum_logprobs[i] / static_cast<double>(std::max<size_t>(1, tokens[i].size()));
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return best;
}

// Greedy / sampling step over every row. Returns true when every row ended with EOT.
bool greedy_update(std::vector<Seq>& tokens, const torch::Tensor& logits, std::vector<double>& sum_logprobs,
                   const WhisperTokens& t, double temperature, at::Generator& gen) {
  auto logprobs = torch::log_softmax(logits, -1);  // [b, vocab]
  bool completed = true;
  for (size_t b = 0; b < tokens.size(); ++b) {
    int64_t next;
    if (tokens[b].back() == t.eot) {
      next = t.eot;
    } else {
      if (temperature == 0) {
        next = logits[b].argmax().item<int64_t>();
      } else {
        auto probs = torch::softmax(logits[b] / temperature, -1);
        next = torch::multinomial(probs, 1, false, gen).item<int64_t>();
      }
      sum_logprobs[b] += logprobs[b][next].item<double>();
    }
    tokens[b].push_back(next);
    completed = completed && next == t.eot;
  }
  return completed;
}

// Beam search state of one audio (openai's BeamSearchDecoder with n_audio = 1).
struct BeamState {
  std::vector<std::pair<Seq, double>> finished;  // insertion order
  size_t max_candidates = 1;
  bool has(const Seq& s) const {
    for (const auto& f : finished) if (f.first == s) return true;
    return false;
  }
};

// One beam step: returns the source rows for the cache and whether enough beams finished.
bool beam_update(std::vector<Seq>& tokens, const torch::Tensor& logits, std::vector<double>& sum_logprobs,
                 const WhisperTokens& t, int beam_size, BeamState& state, std::vector<int64_t>& sources) {
  auto logprobs = torch::log_softmax(logits, -1);  // [beam, vocab]
  struct Cand {
    Seq seq;
    double score;
    int64_t source;
  };
  std::vector<Cand> cands;
  std::map<Seq, size_t> where;
  for (int j = 0; j < beam_size; ++j) {
    auto top = logprobs[j].topk(beam_size + 1);
    auto values = std::get<0>(top), ids = std::get<1>(top);
    for (int r = 0; r < beam_size + 1; ++r) {
      Seq s = tokens[j];
      s.push_back(ids[r].item<int64_t>());
      double score = sum_logprobs[j] + values[r].item<double>();
      auto it = where.find(s);
      if (it == where.end()) {
        where[s] = cands.size();
        cands.push_back({std::move(s), score, j});
      } else {
        cands[it->second].score = score;
        cands[it->second].source = j;
      }
    }
  }
  std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) { return a.score > b.score; });
  std::vector<Seq> next;
  std::vector<double> next_scores;
  std::vector<std::pair<Seq, double>> newly_finished;
  sources.clear();
  for (auto& c : cands) {
    if (c.seq.back() == t.eot) {
      newly_finished.emplace_back(c.seq, c.score);
    } else {
      next.push_back(c.seq);
      next_scores.push_back(c.score);
      sources.push_back(c.source);
      if (static_cast<int>(next.size()) == beam_size) break;
    }
  }
  for (auto& f : newly_finished) {
    if (state.finished.size() >= state.max_candidates) break;
    if (!state.has(f.first)) state.finished.push_back(f);
  }
  tokens = std::move(next);
  for (size_t i = 0; i < next_scores.size(); ++i) sum_logprobs[i] = next_scores[i];
  return state.finished.size() >= state.max_candidates;
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

void apply_logit_filters(torch::Tensor& logits, const std::vector<std::vector<int64_t>>& tokens,
                         size_t sample_begin, const WhisperTokens& t, const DecodeOptions& opts) {
  // logits: [batch, vocab] float32 on CPU
  const int64_t vocab = logits.size(1);
  auto suppress = [&](int64_t b, int64_t from, int64_t to) {  // [from, to) of row b (b < 0: every row)
    from = std::max<int64_t>(0, from);
    to = std::min(vocab, to);
    if (from >= to) return;
    if (b < 0) logits.slice(1, from, to).fill_(kNegInf);
    else logits[b].slice(0, from, to).fill_(kNegInf);
  };
  bool at_begin = tokens[0].size() == sample_begin;
  if (at_begin) for (int64_t id : t.begin_suppress_tokens) suppress(-1, id, id + 1);  // SuppressBlank
  for (int64_t id : t.suppress_tokens) suppress(-1, id, id + 1);                     // SuppressTokens
  for (int64_t id : {t.translate, t.transcribe, t.sot, t.sot_prev, t.sot_lm, t.no_speech}) {
    if (id >= 0) suppress(-1, id, id + 1);
  }
  if (!opts.timestamps) return;
  // ApplyTimestampRules
  const int64_t tb = t.timestamp_begin;
  suppress(-1, t.no_timestamps, t.no_timestamps + 1);
  for (size_t b = 0; b < tokens.size(); ++b) {
    const auto& seq = tokens[b];
    size_t n = seq.size() - sample_begin;
    bool last_ts = n >= 1 && seq.back() >= tb;
    bool penultimate_ts = n < 2 || seq[seq.size() - 2] >= tb;
    if (last_ts) {
      if (penultimate_ts) suppress(b, tb, vocab);  // has to be text
      else suppress(b, 0, t.eot);                  // cannot be text
    }
    int64_t last_timestamp = -1;
    for (size_t i = sample_begin; i < seq.size(); ++i) if (seq[i] >= tb) last_timestamp = seq[i];
    if (last_timestamp >= 0) {
      // timestamps do not decrease, and a segment has a nonzero length
      int64_t limit = (last_ts && !penultimate_ts) ? last_timestamp : last_timestamp + 1;
      suppress(b, tb, limit);
    }
  }
  if (at_begin) {
    suppress(-1, 0, tb);  // start with a timestamp
    if (opts.max_initial_timestamp > 0) {
      int64_t max_index = static_cast<int64_t>(std::llround(opts.max_initial_timestamp / 0.02));
      suppress(-1, tb + max_index + 1, vocab);
    }
  }
  auto logprobs = torch::log_softmax(logits, -1);
  for (size_t b = 0; b < tokens.size(); ++b) {
    double ts = logprobs[b].slice(0, tb).logsumexp(0).item<double>();
    double text = logprobs[b].slice(0, 0, tb).max().item<double>();
    if (ts > text) suppress(b, 0, tb);
  }
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

DecodeResult decode_window(WhisperForConditionalGeneration& model, const torch::Tensor& encoder_out,
                           const WhisperTokens& t, const text::Tokenizer& tok, const DecodeOptions& opts) {
  torch::NoGradGuard no_grad;
  const Seq init = sot_sequence(t, opts);
  const size_t sample_begin = init.size();
  const size_t sot_index = static_cast<size_t>(std::find(init.begin(), init.end(), t.sot) - init.begin());
  const int64_t n_ctx = model->config().max_target_positions;
  const int sample_len = opts.max_new_tokens > 0 ? opts.max_new_tokens : static_cast<int>(n_ctx / 2);
  const bool beam = opts.beam_size > 0 && opts.temperature == 0;
  const int batch = beam ? opts.beam_size : (opts.temperature > 0 ? std::max(1, opts.best_of) : 1);
  auto device = encoder_out.device();
  auto enc = encoder_out.expand({batch, encoder_out.size(1), encoder_out.size(2)}).contiguous();
  auto cache = model->make_cache();
  std::vector<Seq> tokens(batch, init);
  std::vector<double> sum_logprobs(batch, 0.0);
  auto gen = at::detail::createCPUGenerator(opts.seed);
  BeamState beam_state;
  beam_state.max_candidates = static_cast<size_t>(std::llround(std::max(1, opts.beam_size) * opts.patience));

  auto all = model->decode(torch::tensor(init).view({1, -1}).expand({batch, -1}).to(device), enc, &cache).cpu();
  DecodeResult r;
  if (t.no_speech >= 0) r.no_speech_prob = torch::softmax(all[0][sot_index], -1)[t.no_speech].item<double>();
  torch::Tensor logits = all.select(1, all.size(1) - 1).clone();  // [batch, vocab]
  for (int i = 0; i < sample_len; ++i) {
    check_interrupted();
    apply_logit_filters(logits, tokens, sample_begin, t, opts);
    bool completed;
    if (beam) {
      std::vector<int64_t> sources;
      completed = beam_update(tokens, logits, sum_logprobs, t, opts.beam_size, beam_state, sources);
      cache.reorder(torch::tensor(sources).to(device));
    } else {
      completed = greedy_update(tokens, logits, sum_logprobs, t, opts.temperature, gen);
    }
    if (completed || static_cast<int64_t>(tokens[0].size()) >= n_ctx) break;
    std::vector<int64_t> last;
    for (const auto& s : tokens) last.push_back(s.back());
    logits = model->decode(torch::tensor(last).view({batch, 1}).to(device), enc, &cache).select(1, 0).cpu();
  }
  std::vector<Seq> cands;
  std::vector<double> cand_logprobs;
  if (beam) {
    if (beam_state.finished.size() < static_cast<size_t>(opts.beam_size)) {
      std::vector<size_t> order(tokens.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sum_logprobs[a] > sum_logprobs[b]; });
      for (size_t j : order) {
        Seq s = tokens[j];
        s.push_back(t.eot);
        if (!beam_state.has(s)) beam_state.finished.emplace_back(s, sum_logprobs[j]);
        if (beam_state.finished.size() >= static_cast<size_t>(opts.beam_size)) break;
      }
    }
    for (auto& [s, lp] : beam_state.finished) {
      cands.push_back(s);
      cand_logprobs.push_back(lp);
    }
  } else {
    cands = tokens;
    cand_logprobs = sum_logprobs;
  }
  for (auto& s : cands) {  // sampled part up to the first EOT
    Seq out(s.begin() + static_cast<std::ptrdiff_t>(sample_begin), s.end());
    auto eot = std::find(out.begin(), out.end(), t.eot);
    out.erase(eot, out.end());
    s = std::move(out);
  }
  size_t best = best_candidate(cands, cand_logprobs);
  r.tokens = cands[best];
  r.sum_logprob = cand_logprobs[best];
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
