#pragma once
// Whisper log-mel features, following openai/whisper's audio.py:
//   400-point periodic Hann window, hop 160, centred STFT with reflect padding, |X|^2 without the
//   last frame, mel filter bank ([n_mels, 201]), log10(max(x, 1e-10)), max(x, x.max() - 8),
//   (x + 4) / 4; the model sees 3,000-frame (30 s) windows.
// Like whisper's transcribe(), whisper_features() appends 30 s of zero samples to the recording
// before the STFT (log_mel_spectrogram(audio, padding=N_SAMPLES)), so the max - 8 floor is taken
// over the whole recording, and window_features() slices [seek, seek + size) and zero-pads (in the
// normalised log-mel domain) to 3,000 frames, as pad_or_trim(mel[:, seek:seek + size]) does.
#include <string>
#include <vector>

#include <torch/torch.h>

namespace nlpc::audio {

constexpr int64_t kNFft = 400;
constexpr int64_t kHopLength = 160;
constexpr int64_t kChunkSeconds = 30;
constexpr int64_t kNSamples = kChunkSeconds * 16000;   // 480,000 samples per window
constexpr int64_t kNFrames = kNSamples / kHopLength;  // 3,000 frames per window
constexpr int64_t kFramesPerSecond = 16000 / kHopLength;

// Slaney-style mel filters as librosa.filters.mel(sr, n_fft, n_mels, htk=False, norm="slaney"),
// computed in float64 and returned as float32 [n_mels, n_fft / 2 + 1].
torch::Tensor mel_filters_slaney(int64_t n_mels, int64_t sample_rate = 16000, int64_t n_fft = kNFft);

// The "mel_filters" of a Hugging Face preprocessor_config.json ([201][n_mels] there), returned as
// [n_mels, 201]. Throws InputError naming the file when absent or malformed.
torch::Tensor load_mel_filters(const std::string& preprocessor_config_path);

// Filters for a model folder: preprocessor_config.json's mel_filters when present, else computed
// Slaney filters. Throws when their band count differs from n_mels.
torch::Tensor mel_filters_for_model(const std::string& model_dir, int64_t n_mels);

// whisper.audio.log_mel_spectrogram: audio [samples] float32 (16 kHz) with `padding` zero samples
// appended -> [n_mels, (samples + padding) / 160] float32.
torch::Tensor log_mel_spectrogram(const torch::Tensor& audio, const torch::Tensor& filters,
                                  int64_t padding = 0);

struct WhisperFeatures {
  torch::Tensor mel;           // [n_mels, content_frames + 3000] (trailing frames: the zero padding)
  int64_t content_frames = 0;  // frames that cover the recording (samples / 160)
};

// transcribe()'s features for a whole recording (see the header comment).
WhisperFeatures whisper_features(const std::vector<float>& audio, const torch::Tensor& filters);

// pad_or_trim(mel[:, seek:seek + size], frames) with size = min(frames, content_frames - seek).
// `frames` is the model's window (2 * max_source_positions: 3,000 for Whisper; fewer for small
// models trained on short clips).
torch::Tensor window_features(const WhisperFeatures& f, int64_t seek, int64_t frames = kNFrames);

// Pads with zeros or trims the last dimension to `length`.
torch::Tensor pad_or_trim(const torch::Tensor& x, int64_t length = kNFrames);

// NumPy .npy (format 1.0, little-endian float32, C order) writer (atomic) and reader.
void write_npy(const std::string& path, const torch::Tensor& x);
torch::Tensor read_npy(const std::string& path);

}  // namespace nlpc::audio
