// WhisperTranscriber: a Whisper model folder that transcribes recordings (openai/whisper transcribe()
// semantics). See include/nlpc/tasks/asr/transcriber.h.
#include "nlpc/tasks/asr/transcriber.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nlpc/audio/mel.h"
#include "nlpc/core/error.h"
#include "nlpc/core/strings.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/device.h"
#include "nlpc/models/whisper/whisper.h"
#include "nlpc/models/whisper/decode.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/io/transcript.h"
#include "nlpc/text/tokenizer.h"

namespace nlpc {
using namespace nlpc::models;  // NOLINT: this file is the Whisper facade; every model name is models::
using io::Transcript;
using io::TranscriptSegment;
namespace {

namespace fs = std::filesystem;
constexpr double kTimePrecision = 0.02;  // seconds per timestamp token
constexpr int64_t kInputStride = 2;      // mel frames per encoder position

}  // namespace

struct WhisperTranscriber::Impl {
  WhisperForConditionalGeneration model{nullptr};
  std::unique_ptr<text::Tokenizer> tok;
  WhisperTokens tokens;
  torch::Tensor filters;
  c10::Device device{c10::kCPU};
  int64_t window = audio::kNFrames;  // mel frames per encoder window (2 * max_source_positions)
  TranscribeOptions options;
};

namespace {
using Loaded = WhisperTranscriber::Impl;

void load_model(Loaded& l, const TranscribeOptions& o) {
  if (o.model.empty()) throw UsageError("transcribe: --model DIR is required (a Hugging Face Whisper folder)");
  auto cfg = load_whisper_config(o.model);
  l.window = cfg.input_frames();
  l.device = resolve_device(o.device);
  l.model = WhisperForConditionalGeneration(cfg);
  StateDict weights = load_checkpoint(o.model);
  const bool quantize = int8::before_load(*l.model, weights, o.precision, o.model);
  l.model->load_state(weights, o.model);
  if (quantize) int8::quantize_module(*l.model);
  int8::check_device(*l.model, l.device);
  l.model->to(l.device);
  l.model->eval();
  const std::string tok_dir = o.tokenizer.empty() ? o.model : o.tokenizer;
  l.tok = text::load_tokenizer(tok_dir);
  l.tokens = load_whisper_tokens(*l.tok, o.model);
  check_whisper_vocabulary(*l.tok, l.tokens, cfg.vocab_size, tok_dir, o.model);
  l.filters = audio::mel_filters_for_model(o.model, cfg.num_mel_bins);
}

std::string decode_text(const Loaded& l, const std::vector<int64_t>& tokens) {
  std::vector<int32_t> ids;
  for (auto t : tokens) if (t < l.tokens.eot) ids.push_back(static_cast<int32_t>(t));
  return l.tok->decode(ids);
}


DecodeResult decode_with_fallback(Loaded& l, const torch::Tensor& enc, DecodeOptions base, const TranscribeOptions& o) {
  DecodeResult r;
  for (double temp : o.temperatures) {
    DecodeOptions d = base;
    d.temperature = temp;
    d.beam_size = temp > 0 ? 0 : o.beam_size;
    d.best_of = temp > 0 ? o.best_of : 1;
    r = decode_window(l.model, enc, l.tokens, *l.tok, d);
    bool fallback = (o.compression_ratio_threshold > 0 && r.compression_ratio > o.compression_ratio_threshold) ||
                    r.avg_logprob < o.logprob_threshold;
    if (r.no_speech_prob > o.no_speech_threshold) fallback = false;  // silence
    if (!fallback) break;
    spdlog::debug("window: fallback from temperature {} (compression ratio {:.2f}, avg logprob {:.2f})", temp,
                  r.compression_ratio, r.avg_logprob);
  }
  return r;
}

TranscriptSegment make_segment(const Loaded& l, double start, double end, std::vector<int64_t> tokens,
                               const DecodeResult& r) {
  TranscriptSegment s;
  s.start = start;
  s.end = end;
  s.text = decode_text(l, tokens);
  s.tokens = std::move(tokens);
  s.avg_logprob = r.avg_logprob;
  s.no_speech_prob = r.no_speech_prob;
  s.temperature = r.temperature;
  s.compression_ratio = r.compression_ratio;
  return s;
}

// Splits a window's tokens at consecutive timestamps; returns how far to advance `seek` (frames).
int64_t split_segments(const Loaded& l, const DecodeResult& r, double time_offset, int64_t segment_size,
                       std::vector<TranscriptSegment>& out) {
  const auto& tok = r.tokens;
  const int64_t tb = l.tokens.timestamp_begin;
  auto is_ts = [&](size_t i) { return tok[i] >= tb; };
  bool single_ending = tok.size() >= 2 && !is_ts(tok.size() - 2) && is_ts(tok.size() - 1);
  std::vector<size_t> slices;
  for (size_t i = 1; i < tok.size(); ++i) if (is_ts(i - 1) && is_ts(i)) slices.push_back(i);
  if (!slices.empty()) {
    if (single_ending) slices.push_back(tok.size());
    size_t last = 0;
    for (size_t cur : slices) {
      std::vector<int64_t> part(tok.begin() + static_cast<std::ptrdiff_t>(last), tok.begin() + static_cast<std::ptrdiff_t>(cur));
      double start = time_offset + (part.front() - tb) * kTimePrecision;
      double end = time_offset + (part.back() - tb) * kTimePrecision;
      out.push_back(make_segment(l, start, end, std::move(part), r));
      last = cur;
    }
    if (single_ending) return segment_size;
    return (tok[last - 1] - tb) * kInputStride;
  }
  double duration = static_cast<double>(segment_size) / audio::kFramesPerSecond;
  int64_t last_ts = -1;
  for (auto t : tok) if (t >= tb) last_ts = t;
  if (last_ts >= 0 && last_ts != tb) duration = (last_ts - tb) * kTimePrecision;
  out.push_back(make_segment(l, time_offset, time_offset + duration, tok, r));
  return segment_size;
}

// `first_window`: the encoder output of the first decoding window when the caller computed it (a
// batch of recordings encoded together), else undefined.
Transcript transcribe_features(Loaded& l, const audio::WhisperFeatures& feats, const std::string& path,
                               const TranscribeOptions& o, const torch::Tensor& first_window) {
  torch::NoGradGuard no_grad;
  if (!o.dump_features.empty()) {
    int64_t windows = std::max<int64_t>(1, (feats.content_frames + l.window - 1) / l.window);
    audio::write_npy(o.dump_features, audio::pad_or_trim(feats.mel.slice(1, 0, feats.content_frames), windows * l.window));
  }
  Transcript tr;
  tr.file = path;
  DecodeOptions base;
  base.task = o.task.empty() ? l.tokens.default_task : o.task;
  base.timestamps = o.timestamps;
  base.max_new_tokens = o.max_new_tokens;
  base.seed = o.seed;
  auto encode = [&](const torch::Tensor& window) {  // window: [n_mels, l.window]
    return l.model->encode(window.unsqueeze(0).to(l.device));
  };
  // No --language: the model's own (generation_config.json), else detected, as HF generate().
  const std::string language = !o.language.empty() ? o.language
                               : !l.tokens.default_language.empty() ? l.tokens.default_language
                                                                     : "auto";
  if (!l.tokens.multilingual) {
    std::string lower;
    for (char c : language) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower != "auto" && lower != "en" && lower != "<|en|>" && lower != "english") {
      throw UsageError("--language " + language + ": this model is English-only (use --language en or auto)");
    }
    tr.language = "en";
  } else if (language == "auto") {
    // like transcribe(): detected on the first window (3,000 frames) of the padded features
    auto probs = detect_language(l.model, encode(audio::pad_or_trim(feats.mel.slice(1, 0, l.window), l.window)), l.tokens);
    tr.language = probs.front().first;
    spdlog::info("{}: detected language {} (p={:.2f})", path, tr.language, probs.front().second);
  } else {
    tr.language = resolve_language(l.tokens, language);
  }
  base.language = l.tokens.multilingual ? tr.language : "";
  std::vector<int64_t> all_tokens;
  if (!trim(o.initial_prompt).empty()) {
    text::EncodeOptions plain;
    plain.add_special_tokens = false;
    plain.with_tokens = false;
    for (int32_t id : l.tok->encode(" " + trim(o.initial_prompt), plain).ids) all_tokens.push_back(id);
  }
  size_t prompt_reset = 0;
  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>(fs::path(path).filename().string(), feats.content_frames, "frames");
  int64_t seek = 0;
  while (seek < feats.content_frames) {
    check_interrupted();
    int64_t segment_size = std::min(l.window, feats.content_frames - seek);
    double time_offset = static_cast<double>(seek) / audio::kFramesPerSecond;
    DecodeOptions d = base;
    // as openai/whisper: the tokens since the last reset (without condition_on_previous_text, reset
    // after every window: only the initial prompt, on the first window)
    d.prompt.assign(all_tokens.begin() + static_cast<std::ptrdiff_t>(prompt_reset), all_tokens.end());
    auto enc = seek == 0 && first_window.defined() ? first_window : encode(audio::window_features(feats, seek, l.window));
    auto r = decode_with_fallback(l, enc, d, o);
    if (r.no_speech_prob > o.no_speech_threshold && !(r.avg_logprob > o.logprob_threshold)) {
      seek += segment_size;  // silence
      if (bar) bar->update(seek);
      continue;
    }
    std::vector<TranscriptSegment> current;
    int64_t advance = split_segments(l, r, time_offset, segment_size, current);
    seek += std::max<int64_t>(advance, 1);
    for (auto& s : current) {
      if (s.start == s.end || trim(s.text).empty()) continue;  // instantaneous or empty
      all_tokens.insert(all_tokens.end(), s.tokens.begin(), s.tokens.end());
      tr.text += s.text;
      tr.segments.push_back(std::move(s));
    }
    if (!o.condition_on_previous_text || r.temperature > 0.5) prompt_reset = all_tokens.size();
    if (bar) bar->update(std::min(seek, feats.content_frames));
  }
  if (bar) bar->finish();
  return tr;
}

Transcript transcribe_samples(Loaded& l, const std::vector<float>& samples, const std::string& path,
                              const TranscribeOptions& o) {
  torch::NoGradGuard no_grad;
  return transcribe_features(l, audio::whisper_features(samples, l.filters), path, o, torch::Tensor());
}

}  // namespace

namespace {
void check_decoding_options(const TranscribeOptions& o) {
  if (!o.task.empty() && o.task != "transcribe" && o.task != "translate") throw UsageError("--task: expected transcribe or translate");
  if (o.beam_size < 0 || o.max_new_tokens < 0) throw UsageError("--beam-size and --max-new-tokens must be >= 0");
  if (o.temperatures.empty()) throw UsageError("--temperatures: give at least one temperature");
  for (double t : o.temperatures)
    if (!(t >= 0)) throw UsageError("--temperatures: every temperature must be >= 0");
}
}  // namespace

WhisperTranscriber::WhisperTranscriber(const TranscribeOptions& o) : impl_(std::make_unique<Impl>()) {
  check_decoding_options(o);
  load_model(*impl_, o);
  impl_->options = o;
}

WhisperTranscriber::~WhisperTranscriber() = default;

Transcript WhisperTranscriber::transcribe_file(const std::string& path) {
  return transcribe_samples(*impl_, audio::load_audio(path, impl_->options.audio), path, impl_->options);
}

std::vector<Transcript> WhisperTranscriber::transcribe_many(const std::vector<Request>& requests) {
  for (const auto& r : requests) check_decoding_options(r.how);
  torch::NoGradGuard no_grad;
  Loaded& l = *impl_;
  std::vector<audio::WhisperFeatures> feats;
  std::vector<torch::Tensor> windows;
  for (const auto& r : requests) {
    feats.push_back(audio::whisper_features(*r.samples, l.filters));
    windows.push_back(audio::window_features(feats.back(), 0, l.window));
  }
  // the first window of every recording in one encoder call
  const torch::Tensor enc = l.model->encode(torch::stack(windows).to(l.device));
  std::vector<Transcript> out;
  for (size_t i = 0; i < requests.size(); ++i) {
    out.push_back(transcribe_features(l, feats[i], requests[i].name, requests[i].how,
                                      enc.slice(0, static_cast<int64_t>(i), static_cast<int64_t>(i) + 1)));
  }
  return out;
}

int64_t WhisperTranscriber::window_frames() const { return impl_->window; }

bool WhisperTranscriber::multilingual() const { return impl_->tokens.multilingual; }

std::vector<std::string> WhisperTranscriber::languages() const {
  std::vector<std::string> out;
  if (!impl_->tokens.multilingual) return {"en"};
  for (const auto& l : impl_->tokens.languages) out.push_back(l.first);
  return out;
}

void WhisperTranscriber::save_weights(const std::string& file) const {
  save_safetensors(file, impl_->model->state());
}

int64_t WhisperTranscriber::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : impl_->model->parameters()) n += p.numel();
  return n;
}

}  // namespace nlpc
