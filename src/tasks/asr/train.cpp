// `nlpc train` with task: asr (model.type whisper): a Whisper-architecture model from scratch
// (model.init random + model.config, e.g. configs/models/whisper-micro.json) or fine-tuning a
// Hugging Face Whisper folder, on CSV/TSV/JSONL manifests (data.audio_column: audio paths relative
// to the manifest's folder; data.text_column: the transcript).
//
// Decoder input  <|startoftranscript|> <|lang|> <|transcribe|> <|notimestamps|> " text" tokens
// targets         -100 (x3)            ...      ...           text tokens...    <|endoftext|>
// so the loss covers the text tokens and <|endoftext|> only. Log-mel features are computed once
// per clip (the recording's frames, zero-padded at batch time to the model's window of
// 2 * max_source_positions frames, as `nlpc transcribe` pads) and kept in memory. Validation:
// batched greedy decoding of data.valid, WER/CER of normalised text (valid/wer, valid/cer). The
// best model is saved as a Hugging Face Whisper folder (config.json, model.safetensors, tokenizer
// files, generation_config.json, preprocessor_config.json) and scored on data.test (else
// data.valid) with the same code as `nlpc eval --task asr`.
#include <chrono>
#include <filesystem>
#include <limits>
#include <optional>

#include <torch/torch.h>

#include "nlpc/dist/dist.h"
#include "nlpc/data/model_columns.h"
#include "nlpc/tasks/asr/asr.h"
#include "nlpc/commands/eval.h"
#include "nlpc/tasks/train_common.h"
#include "nlpc/audio/audio.h"
#include "nlpc/audio/mel.h"
#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/eval/wer.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/device.h"
#include "nlpc/models/whisper/whisper.h"
#include "nlpc/models/generation/engine.h"
#include "nlpc/models/generation/sessions.h"
#include "nlpc/models/whisper/decode.h"
#include "nlpc/runs/run.h"
#include "nlpc/text/tokenizer.h"
#include "nlpc/train/trainer.h"
#include "nlpc/train/train_config.h"

namespace nlpc {
namespace fs = std::filesystem;

namespace {

// Features of a manifest's clips: [n_mels, frames] (frames <= window), in row order.
std::vector<torch::Tensor> clip_features(const AsrManifest& m, const torch::Tensor& filters, int64_t window,
                                         const std::string& what) {
  std::vector<torch::Tensor> out;
  out.reserve(m.audio.size());
  ProgressBar bar("features " + what, static_cast<int64_t>(m.audio.size()), "clips");
  for (size_t i = 0; i < m.audio.size(); ++i) {
    check_interrupted();
    std::vector<float> samples;
    try {
      samples = audio::load_audio(m.audio[i]);
    } catch (const InputError& e) {
      throw InputError(m.file, m.lines[i], static_cast<int64_t>(m.audio_index) + 1, e.what());
    }
    // The recording's frames as whisper_features() computes them (30 s of zero padding there): the
    // STFT frames over the recording only need n_fft / 2 zeros after it, and the frames over the
    // zeros (log10(1e-10)) never raise the max - 8 floor, so 1 s of padding gives the same values
    // at 1/30 of the cost.
    audio::WhisperFeatures f;
    const auto t = torch::from_blob(samples.data(), {static_cast<int64_t>(samples.size())}, torch::kFloat32);
    f.mel = audio::log_mel_spectrogram(t, filters, audio::kWhisperSampleRate);
    f.content_frames = static_cast<int64_t>(samples.size()) / audio::kHopLength;
    if (f.content_frames > window) {
      throw InputError(m.file, m.lines[i], static_cast<int64_t>(m.audio_index) + 1,
                       "audio file " + m.audio[i] + " lasts " + std::to_string(f.content_frames / 100.0) +
                           " s, longer than the model's window of " + std::to_string(window / 100.0) +
                           " s (2 * max_source_positions mel frames): cut the clip or use a larger max_source_positions");
    }
    out.push_back(f.mel.slice(1, 0, f.content_frames).clone());
    bar.update(static_cast<int64_t>(i + 1));
  }
  bar.finish();
  return out;
}

// [batch, n_mels, window]: the clips of `indices`, zero-padded (as window_features pads).
torch::Tensor batch_features(const std::vector<torch::Tensor>& feats, const std::vector<int64_t>& indices,
                             int64_t window) {
  const int64_t n_mels = feats.at(0).size(0);
  torch::Tensor out = torch::zeros({static_cast<int64_t>(indices.size()), n_mels, window});
  for (size_t r = 0; r < indices.size(); ++r) {
    const torch::Tensor& f = feats.at(static_cast<size_t>(indices[r]));
    out[static_cast<int64_t>(r)].slice(1, 0, f.size(1)).copy_(f);
  }
  return out;
}

// The trainer's view of a Whisper model: Example::ids are the decoder inputs, Example::target_ids
// the next tokens (-100 = no loss); the clip features are looked up by Batch::indices in `feats`
// (the training set's: the trainer only calls loss() on training batches).
class WhisperAsrModel : public train::TrainableModel {
 public:
  WhisperAsrModel(models::WhisperForConditionalGeneration m, const std::vector<torch::Tensor>* feats, int64_t window)
      : model_(std::move(m)), feats_(feats), window_(window) {}

  // logits [batch, tgt, vocab]
  torch::Tensor logits(const train::Batch& b) override {
    auto features = batch_features(*feats_, b.indices, window_).to(b.input_ids.device());
    return model_->forward(features, b.input_ids);
  }
  torch::Tensor loss(const train::Batch& b, const train::LossOptions&) override {
    torch::Tensor lg = logits(b);  // [batch, tgt, vocab]
    torch::Tensor tgt = b.target_ids;  // [batch, tgt], -100 = ignored
    return torch::nn::functional::cross_entropy(
        lg.reshape({-1, lg.size(-1)}), tgt.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  }
  std::vector<train::NamedParameter> named_parameters() override {
    std::vector<train::NamedParameter> out;
    for (const auto& item : model_->named_parameters(true)) out.emplace_back(item.key(), item.value());
    return out;
  }
  void train(bool on) override { model_->train(on); }
  models::WhisperForConditionalGeneration& model() { return model_; }

 private:
  models::WhisperForConditionalGeneration model_;
  const std::vector<torch::Tensor>* feats_;
  int64_t window_;
};

// Text tokens and <|endoftext|> only: every id above eot (timestamps, specials) is banned.
class TextOnlyProcessor : public models::LogitsProcessor {
 public:
  explicit TextOnlyProcessor(int64_t eot) : eot_(eot) {}
  void apply(const torch::Tensor&, torch::Tensor& scores) const override {
    // scores: [rows, vocab]
    scores.slice(1, eot_ + 1, scores.size(1)).fill_(-std::numeric_limits<float>::infinity());
  }

 private:
  int64_t eot_;
};

// Batched greedy decoding of clips through the shared decoding engine -> texts.
std::vector<std::string> greedy_transcripts(models::WhisperForConditionalGeneration& model,
                                            const std::vector<torch::Tensor>& feats, const std::vector<int64_t>& prompt,
                                            const models::WhisperTokens& wt, const text::Tokenizer& tok,
                                            int64_t window, int64_t batch_size, int64_t max_new, const c10::Device& device) {
  torch::NoGradGuard no_grad;
  models::LogitsProcessorList processors;
  processors.push_back(std::make_unique<TextOnlyProcessor>(wt.eot));
  const auto plen = static_cast<int64_t>(prompt.size());
  const models::SearchLimits limits{wt.eot, wt.eot, plen + max_new, max_new};
  std::vector<std::string> out(feats.size());
  const int64_t n = static_cast<int64_t>(feats.size());
  for (int64_t start = 0; start < n; start += batch_size) {
    check_interrupted();
    std::vector<int64_t> idx;
    for (int64_t i = start; i < std::min(n, start + batch_size); ++i) idx.push_back(i);
    const int64_t b = static_cast<int64_t>(idx.size());
    auto enc = model->encode(batch_features(feats, idx, window).to(device));  // [b, src, d]
    models::WhisperSession session(model, enc, b, plen - 1);
    const torch::Tensor prefix = torch::tensor(prompt, torch::kInt64).unsqueeze(0).repeat({b, 1});  // [b, plen]
    const torch::Tensor ids = models::sample_search(session, processors, prefix, limits, {}).ids.to(torch::kCPU);
    for (int64_t r = 0; r < b; ++r) {
      std::vector<int32_t> text;
      for (int64_t t = plen; t < ids.size(1) && ids[r][t].item<int64_t>() != wt.eot; ++t) {
        text.push_back(static_cast<int32_t>(ids[r][t].item<int64_t>()));
      }
      out[static_cast<size_t>(idx[static_cast<size_t>(r)])] = tok.decode(text);
    }
  }
  return out;
}

void copy_if_exists(const fs::path& from, const fs::path& to) {
  if (fs::exists(from)) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

// Writes a Hugging Face Whisper folder. `language` (a code, multilingual vocabularies only) goes
// into generation_config.json as the model's language, the way HF fine-tuning sets it: "language"
// and "task" (read by newer transformers and by nlpc) and the matching forced_decoder_ids (older
// transformers).
void save_whisper_folder(models::WhisperForConditionalGeneration& model, const std::string& dir,
                         const std::string& tok_dir, const std::string& extras_dir, const models::WhisperTokens& wt,
                         const std::string& language) {
  AtomicDir folder(dir);
  const fs::path tmp = folder.temp_path();
  models::save_safetensors((tmp / "model.safetensors").string(), model->state());
  nlohmann::json cfg = models::whisper_config_to_json(model->config());
  cfg["architectures"] = {"WhisperForConditionalGeneration"};
  write_file_atomic((tmp / "config.json").string(), cfg.dump(2) + "\n");
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "added_tokens.json",
                        "special_tokens_map.json", "normalizer.json"}) {
    copy_if_exists(fs::path(tok_dir) / f, tmp / f);
  }
  for (const char* f : {"generation_config.json", "preprocessor_config.json"}) {
    fs::path src = fs::path(extras_dir) / f;
    if (!fs::exists(src)) src = fs::path(tok_dir) / f;
    if (!fs::exists(src)) {
      throw UsageError(std::string("cannot save a Whisper folder: no ") + f + " in " + extras_dir + " or " + tok_dir);
    }
    fs::copy_file(src, tmp / f, fs::copy_options::overwrite_existing);
  }
  if (!language.empty()) {
    nlohmann::json gen = read_json_file((tmp / "generation_config.json").string());
    gen["language"] = language;
    gen["task"] = "transcribe";
    gen["forced_decoder_ids"] = nlohmann::json::array({nlohmann::json::array({1, wt.language_id(language)}),
                                                       nlohmann::json::array({2, wt.transcribe})});
    write_file_atomic((tmp / "generation_config.json").string(), gen.dump(2) + "\n");
  }
  // preprocessor_config.json: the window follows the model (HF's WhisperFeatureExtractor pads to
  // nb_max_frames / n_samples)
  nlohmann::json pre = read_json_file((tmp / "preprocessor_config.json").string());
  const int64_t frames = model->config().input_frames();
  pre["nb_max_frames"] = frames;
  pre["n_samples"] = frames * audio::kHopLength;
  pre["chunk_length"] = static_cast<double>(frames) / audio::kFramesPerSecond;
  write_file_atomic((tmp / "preprocessor_config.json").string(), pre.dump() + "\n");
  folder.commit();
}

}  // namespace

namespace {

// The model side of a run: tokenizer, special tokens, config, weights (random or the init
// folder's), the mel filters and the window.
struct AsrModelSetup {
  std::string tok_dir, extras_dir;
  std::unique_ptr<text::Tokenizer> tok;
  models::WhisperTokens wt;
  models::WhisperConfig wc;
  models::WhisperForConditionalGeneration model{nullptr};
  torch::Tensor filters;
  int64_t window = 0;  // mel frames per encoder window
};

AsrModelSetup load_asr_model(const TrainConfig& cfg, c10::Device device, runs::Run& run) {
  AsrModelSetup m;
  const bool scratch = cfg.model.init == "random";
  m.tok_dir = !cfg.model.tokenizer.empty() ? cfg.model.tokenizer : scratch ? "" : cfg.model.init;
  if (m.tok_dir.empty() || !fs::is_directory(m.tok_dir)) {
    throw UsageError("task asr: 'model.tokenizer' must be a Whisper tokenizer folder (vocab.json, merges.txt, "
                     "generation_config.json, preprocessor_config.json), e.g. configs/tokenizers/whisper-tiny");
  }
  m.extras_dir = scratch ? m.tok_dir : cfg.model.init;
  m.tok = text::load_tokenizer(m.tok_dir);
  m.wt = models::load_whisper_tokens(*m.tok, m.extras_dir);
  train::seed_everything(static_cast<uint64_t>(cfg.train.seed));
  m.wc = models::load_whisper_config(scratch ? cfg.model.config : cfg.model.init);
  if (m.wc.vocab_size < static_cast<int64_t>(m.tok->vocab_size())) {
    throw UsageError(cfg.model.config + ": vocab_size " + std::to_string(m.wc.vocab_size) + " is smaller than the " +
                     std::to_string(m.tok->vocab_size()) + " tokens of " + m.tok_dir);
  }
  m.model = models::WhisperForConditionalGeneration(m.wc);
  if (scratch) {
    m.model->init_weights(static_cast<uint64_t>(cfg.train.seed));
  } else {
    m.model->load_state(models::load_checkpoint(cfg.model.init), cfg.model.init);
  }
  m.model->to(device);
  m.window = m.wc.input_frames();
  m.filters = audio::mel_filters_for_model(m.extras_dir, m.wc.num_mel_bins);
  int64_t n_params = 0;
  for (const auto& p : m.model->parameters()) n_params += p.numel();
  run.log_param("model.num_parameters", n_params);
  spdlog::info("whisper {}: d_model {}, {}+{} layers, window {} frames ({} s), {} parameters",
               scratch ? "from scratch" : cfg.model.init, m.wc.d_model, m.wc.encoder_layers, m.wc.decoder_layers,
               m.window, m.window / audio::kFramesPerSecond, n_params);
  return m;
}

// The language token of the prompt: data.language, else the init model's, else en ("" for
// English-only vocabularies). Saved as the model's language in generation_config.json, so that
// transcribe/eval decode in it by default.
std::string prompt_language(const TrainConfig& cfg, const models::WhisperTokens& wt) {
  if (!wt.multilingual) {
    if (!cfg.data.language.empty() && cfg.data.language != "en" && cfg.data.language != "english") {
      throw UsageError("data.language " + cfg.data.language + ": this Whisper vocabulary is English-only");
    }
    return "";
  }
  return !cfg.data.language.empty()     ? models::resolve_language(wt, cfg.data.language, "data.language")
         : !wt.default_language.empty() ? wt.default_language
                                        : "en";
}

// Teacher-forcing examples: prompt + " text" tokens; targets -100 over the prompt, then the text
// tokens and <|endoftext|>. `longest` receives the most text tokens of one transcript.
std::vector<train::Example> encode_transcripts(const AsrManifest& m, const AsrModelSetup& s,
                                               const std::vector<int64_t>& prompt, int64_t& longest) {
  text::EncodeOptions eo;
  eo.add_special_tokens = false;
  std::vector<train::Example> out;
  longest = 0;
  for (size_t i = 0; i < m.texts.size(); ++i) {
    const auto enc = s.tok->encode(" " + m.texts[i], eo);
    train::Example e;
    e.ids = prompt;
    for (int32_t id : enc.ids) e.ids.push_back(id);
    e.target_ids.assign(prompt.size() - 1, -100);
    for (int32_t id : enc.ids) e.target_ids.push_back(id);
    e.target_ids.push_back(s.wt.eot);
    if (static_cast<int64_t>(e.ids.size()) > s.wc.max_target_positions) {
      throw InputError(m.file, m.lines[i], 0,
                       "transcript has " + std::to_string(e.ids.size()) +
                           " decoder tokens, more than max_target_positions " +
                           std::to_string(s.wc.max_target_positions));
    }
    longest = std::max<int64_t>(longest, static_cast<int64_t>(enc.ids.size()));
    out.push_back(std::move(e));
  }
  return out;
}

train::TrainerOptions asr_trainer_options(const TrainConfig& cfg, const runs::Run& run, c10::Device device,
                                          int64_t eot) {
  train::TrainerOptions o = trainer_options(cfg, run, device, eot);
  o.freeze_prefixes = {"model.encoder.embed_positions."};  // sinusoids, frozen as in HF
  o.eval_at_epoch_end = cfg.train.eval_every <= 0;  // decoding is slow: every N steps or each epoch, not both
  o.metric_for_best = cfg.train.metric == "accuracy" ? "wer" : cfg.train.metric;  // accuracy: the schema default
  o.greater_is_better = false;
  if (o.metric_for_best != "wer" && o.metric_for_best != "cer") {
    throw UsageError("task asr: train.metric must be wer or cer (lower is better), got '" + o.metric_for_best + "'");
  }
  return o;
}

// Final scores of the saved folder on test (else valid), as `nlpc eval --task asr` computes them.
void score_saved_model(const TrainConfig& cfg, runs::Run& run, const std::string& model_dir,
                       const std::string& language, int64_t step) {
  const bool test = !cfg.data.test.empty();
  const std::string final_data = test ? cfg.data.test : cfg.data.valid;
  if (final_data.empty()) {
    spdlog::warn("no data.valid or data.test: the model is saved but not evaluated");
    std::printf("run %s\n", run.id().c_str());
    return;
  }
  AsrScoreSettings s;
  s.model = model_dir;
  s.data = final_data;
  s.audio_column = cfg.data.audio_column;
  s.text_column = cfg.data.text_column;
  s.bootstrap = cfg.eval.bootstrap;
  s.ci = cfg.eval.ci;
  s.seed = static_cast<uint64_t>(cfg.train.seed);
  s.device = cfg.train.device;
  s.language = language.empty() ? "en" : language;
  score_asr_model(s, run, test ? "test/" : "valid/", step);
}

// Trains and scores; returns the final step.
int64_t fit_asr(const TrainConfig& cfg, runs::Run& run, bool resume) {
  if (cfg.model.type != "whisper") {
    throw UsageError("task asr needs model.type \"whisper\", got \"" + cfg.model.type + "\"");
  }
  if (cfg.data.shuffle_buffer != 0) {
    throw UsageError("data.shuffle_buffer (streamed training data) is built for classification with bert or "
                     "distilbert; task asr reads its training file into memory: leave it at 0");
  }
  const c10::Device device = resolve_device(cfg.train.device);
  // Debian's libtorch 1.13.1 computes garbage Conv1d weight/bias gradients through oneDNN (mkldnn)
  // on CPU (norms of 1e6..inf that change from run to run and with the thread count; checked
  // against the native path, which gives the same small, repeatable values at any thread count):
  // training uses the native convolution.
  at::globalContext().setUserEnabledMkldnn(false);
  AsrModelSetup ms = load_asr_model(cfg, device, run);
  auto& model = ms.model;

  const std::string& audio_col = cfg.data.audio_column;
  const std::string& text_col = cfg.data.text_column;
  AsrManifest train_m = read_asr_manifest(cfg.data.train, audio_col, text_col, cfg.data.format);
  std::optional<AsrManifest> valid_m;
  if (!cfg.data.valid.empty()) valid_m = read_asr_manifest(cfg.data.valid, audio_col, text_col);
  run.log_param("data.train_rows", static_cast<int64_t>(train_m.rows.size()));
  if (valid_m) run.log_param("data.valid_rows", static_cast<int64_t>(valid_m->rows.size()));
  if (!cfg.data.test.empty()) {
    run.log_param("data.test_rows", static_cast<int64_t>(read_asr_manifest(cfg.data.test, audio_col, text_col).rows.size()));
  }
  const auto train_feats = clip_features(train_m, ms.filters, ms.window, "train");
  std::vector<torch::Tensor> valid_feats;
  if (valid_m) valid_feats = clip_features(*valid_m, ms.filters, ms.window, "valid");

  models::DecodeOptions dopt;
  dopt.timestamps = false;
  dopt.language = prompt_language(cfg, ms.wt);
  run.log_param("data.language", dopt.language.empty() ? std::string("en") : dopt.language);
  const std::vector<int64_t> prompt = models::sot_sequence(ms.wt, dopt);
  int64_t longest = 0;
  const std::vector<train::Example> train_ex = encode_transcripts(train_m, ms, prompt, longest);

  train::TrainerOptions o = asr_trainer_options(cfg, run, device, ms.wt.eot);
  WhisperAsrModel tm(model, &train_feats, ms.window);
  const std::string model_dir = run.artifact_path("model");
  train::TrainerCallbacks cb;
  const int64_t max_new = std::min<int64_t>(ms.wc.max_target_positions - static_cast<int64_t>(prompt.size()),
                                            2 * longest + 8);
  if (valid_m) {
    cb.evaluate = [&](train::TrainableModel&) {
      auto hyps = greedy_transcripts(model, valid_feats, prompt, ms.wt, *ms.tok, ms.window, cfg.train.eval_batch_size,
                                     max_new, device);
      eval::NormalizeOptions norm;
      auto s = eval::score_transcripts(valid_m->texts, hyps, &norm);
      spdlog::info("valid: WER {:.4f} CER {:.4f} (\"{}\" -> \"{}\")", s.wer(), s.cer(), valid_m->texts[0], hyps[0]);
      return train::MetricMap{{"wer", s.wer()}, {"cer", s.cer()}};
    };
  }
  log_curves(cb, cfg, run);
  cb.save_model = [&](train::CheckpointKind kind, train::TrainableModel&) {
    const std::string dir = kind == train::CheckpointKind::kBest ? model_dir : o.checkpoint_dir + "/last";
    save_whisper_folder(model, dir, ms.tok_dir, ms.extras_dir, ms.wt, dopt.language);
    record_model_columns(dir, columns_of_spec(cfg.data, "asr"));
  };
  train::Trainer trainer(tm, train_ex, o, cb);
  train::TrainResult r = resume ? trainer.resume() : trainer.train();
  if (!dist::is_main()) return r.steps;  // under a launcher, rank 0 alone saves and scores
  run.log_metric("train/samples_per_s", r.samples_per_s, r.steps);
  // the best parameters (or the last)
  save_whisper_folder(model, model_dir, ms.tok_dir, ms.extras_dir, ms.wt, dopt.language);
  record_model_columns(model_dir, columns_of_spec(cfg.data, "asr"));
  score_saved_model(cfg, run, model_dir, dopt.language, r.steps);
  return r.steps;
}

}  // namespace

int train_asr(const TrainConfig& cfg, runs::Run& run, bool resume) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t step = fit_asr(cfg, run, resume);
  run.log_metric("train/seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), step);
  return 0;
}

}  // namespace nlpc
