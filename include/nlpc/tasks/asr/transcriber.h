#pragma once
// The speech-recognition facade: recordings -> text with a Whisper model folder (config.json, model.safetensors,
// generation_config.json, preprocessor_config.json, tokenizer files), following openai/whisper's
// transcribe(): features over the whole recording (30 s of zero padding), consecutive 3,000-frame
// windows, each decoded with temperature fallback (compression ratio > 2.4 or avg logprob < -1 retry
// at the next temperature, unless no-speech prob > 0.6), windows whose no-speech prob > 0.6 and avg
// logprob < -1 are skipped as silence, segments cut at consecutive timestamp tokens, and the next
// window starting at the last timestamp (or after the window when it ends with a single timestamp or
// has no timestamps). Word-level timestamps are not implemented.
#include <memory>
#include <string>
#include <vector>

#include "nlpc/audio/audio.h"
#include "nlpc/io/transcript.h"

namespace nlpc {

struct TranscribeOptions {
  std::string model;                 // model folder
  std::string tokenizer;             // tokenizer folder (default: the model folder)
  std::vector<std::string> inputs;   // audio files
  // CSV/TSV/JSONL manifest instead of `inputs`: one recording per row in `audio_column` (paths
  // relative to the manifest's folder); output: the manifest's columns plus `transcript` (CSV,
  // or the format of --output's extension), see src/commands/transcribe.cpp.
  std::string manifest;
  std::string audio_column = "audio";
  std::string format = "txt";        // txt | json | srt | vtt
  std::string output = "-";          // file, folder (many inputs) or "-" for stdout
  std::string dump_features;         // .npy of the first input's features ([n_mels, frames])
  std::string language;              // code or name, or auto (detected on the first window);
                                     // empty: the model's generation_config language, else auto
  std::string task;                  // transcribe | translate; empty: the model's (else transcribe)
  int beam_size = 0;                 // 0: greedy
  int best_of = 5;                   // candidates when sampling at temperature > 0
  bool timestamps = true;
  int max_new_tokens = 0;            // 0: 224 (n_text_ctx / 2)
  std::vector<double> temperatures = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
  double compression_ratio_threshold = 2.4;
  double logprob_threshold = -1.0;
  double no_speech_threshold = 0.6;
  bool condition_on_previous_text = true;
  // Text before the first window (openai/whisper's initial_prompt: " " + the stripped text, as
  // prompt tokens after <|startofprev|>), e.g. spellings of names; "" = none.
  std::string initial_prompt;
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string precision = "auto";  // auto (as stored) | fp32 | int8 (nlpc/models/layers/int8.h)
  audio::AudioOptions audio;
  bool progress = true;              // a progress bar per recording
};

// A loaded model that transcribes recordings one by one (nlpc transcribe, eval --task asr,
// predict --asr-model). Windows are the model's input length (config max_source_positions * 2
// mel frames: 3,000 = 30 s for Whisper, shorter for small models trained on short clips).
class WhisperTranscriber {
 public:
  // Loads options.model; options.inputs/output/format are not used.
  explicit WhisperTranscriber(const TranscribeOptions& options);
  ~WhisperTranscriber();
  WhisperTranscriber(const WhisperTranscriber&) = delete;
  WhisperTranscriber& operator=(const WhisperTranscriber&) = delete;
  io::Transcript transcribe_file(const std::string& path);
  // Several recordings (samples: mono 16 kHz; `name` is used in logs) with their own decoding
  // options (language, task, beam_size, best_of, timestamps, temperatures, thresholds, prompts,
  // max_new_tokens, seed, progress; model and audio options are the loaded ones): their first
  // windows go through the encoder as one batch, then each is decoded as transcribe_file() does.
  // UsageError for a bad task, language or negative beam size.
  struct Request {
    const std::vector<float>* samples = nullptr;
    std::string name;
    TranscribeOptions how;
  };
  std::vector<io::Transcript> transcribe_many(const std::vector<Request>& requests);
  bool multilingual() const;
  std::vector<std::string> languages() const;  // language codes of the vocabulary, in token order
  int64_t num_parameters() const;
  int64_t window_frames() const;
  // Writes the weights as loaded (int8 layers included) as one safetensors file (HF Whisper names).
  void save_weights(const std::string& file) const;
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nlpc
