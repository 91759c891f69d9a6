#pragma once
// Audio input for speech models: any file libsndfile decodes (WAV, FLAC, OGG/Vorbis, Opus, and MP3
// with Debian's libsndfile 1.2) or raw little-endian signed 16-bit PCM, mixed to mono and resampled
// to the model's rate (16 kHz for Whisper) with libsoxr (high quality). Samples are float32 in
// [-1, 1): integer PCM is scaled by 1/32768, as Whisper's ffmpeg s16le path does.
#include <cstdint>
#include <string>
#include <vector>

namespace nlpc::audio {

constexpr int kWhisperSampleRate = 16000;

struct AudioOptions {
  int target_rate = kWhisperSampleRate;
  // Raw input: "auto" (decided by the file extension: .raw/.pcm/.s16 are raw), "raw" or "file".
  std::string format = "auto";
  int raw_sample_rate = 0;  // required for raw input (--sample-rate)
  int raw_channels = 1;     // interleaved channels of raw input
};

struct AudioInfo {
  int source_rate = 0;
  int source_channels = 0;
  int64_t source_frames = 0;
  std::string container;  // "WAV", "FLAC", "OGG", "MPEG", "RAW", ...
};

// Reads `path` ("-" is not supported: audio needs seekable input), mixes to mono and resamples to
// opts.target_rate. Corrupt, empty or unsupported files throw InputError naming the file.
std::vector<float> load_audio(const std::string& path, const AudioOptions& opts = {},
                              AudioInfo* info = nullptr);

// Raw s16le bytes -> mono float at `sample_rate` (not resampled). Throws InputError on an odd length.
std::vector<float> decode_s16le(const std::string& bytes, int channels, const std::string& name);

// Interleaved frames -> mono by averaging channels.
std::vector<float> mix_to_mono(const std::vector<float>& interleaved, int channels);

// Resamples mono float audio with libsoxr (SOXR_HQ). Returns the input when rates are equal.
std::vector<float> resample(const std::vector<float>& mono, int from_rate, int to_rate);

// Writes mono float audio as a 16-bit PCM WAV file (tests and tools).
void write_wav_s16(const std::string& path, const std::vector<float>& mono, int sample_rate);

}  // namespace nlpc::audio
