// Audio decoding (libsndfile), mono mixing and resampling (libsoxr). See include/nlpc/audio/audio.h.
#include "nlpc/audio/audio.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"

#ifdef NLPC_HAVE_SNDFILE
#include <sndfile.h>
#endif
#ifdef NLPC_HAVE_SOXR
#include <soxr.h>
#endif

namespace nlpc::audio {
namespace {

bool is_raw_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".raw" || ext == ".pcm" || ext == ".s16" || ext == ".s16le";
}

// The "data" chunk of a RIFF/WAVE file: the bytes its header declares, the bytes the file holds
// after it, and the byte rate of its "fmt " chunk. All 0 for other files and for the "unknown
// length" markers (0 and 0xFFFFFFFF) that streaming writers leave in the header.
struct WavDataChunk {
  uint64_t declared = 0, present = 0, byte_rate = 0;
};

WavDataChunk wav_data_chunk(const std::string& path) {
  WavDataChunk w;
  std::ifstream in(path, std::ios::binary);
  char head[12];
  if (!in.read(head, 12) || std::memcmp(head, "RIFF", 4) != 0 || std::memcmp(head + 8, "WAVE", 4) != 0) return w;
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  uint64_t pos = 12;
  auto le32 = [](const unsigned char* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  };
  unsigned char chunk[20];
  while (pos + 8 <= file_size) {
    in.seekg(static_cast<std::streamoff>(pos));
    if (!in.read(reinterpret_cast<char*>(chunk), 8)) break;
    const uint32_t size = le32(chunk + 4);
    // fmt: format(2) channels(2) sample rate(4) byte rate(4) ...
    if (std::memcmp(chunk, "fmt ", 4) == 0 && size >= 16 && in.read(reinterpret_cast<char*>(chunk + 8), 12)) {
      w.byte_rate = le32(chunk + 16);
    }
    if (std::memcmp(chunk, "data", 4) == 0) {
      if (size == 0 || size == 0xFFFFFFFFu) return WavDataChunk{};
      w.declared = size;
      w.present = file_size - (pos + 8);
      return w;
    }
    pos += 8 + size + (size & 1);  // chunks are padded to even sizes
  }
  return WavDataChunk{};
}

// Warns when a WAV file was cut off: its header declares more audio than the file holds.
void warn_if_truncated_wav(const std::string& path) {
  const WavDataChunk w = wav_data_chunk(path);
  if (w.declared <= w.present) return;
  const uint64_t missing = w.declared - w.present;
  if (w.byte_rate > 0) {
    const double rate = static_cast<double>(w.byte_rate);
    spdlog::warn("{}: truncated WAV file: its header declares {:.2f} s of audio ({} bytes) but the file holds "
                 "{:.2f} s ({} bytes); {:.2f} s are missing, decoding what is there",
                 path, static_cast<double>(w.declared) / rate, w.declared, static_cast<double>(w.present) / rate,
                 w.present, static_cast<double>(missing) / rate);
  } else {
    spdlog::warn("{}: truncated WAV file: its header declares {} bytes of audio but the file holds {}; {} bytes are "
                 "missing, decoding what is there", path, w.declared, w.present, missing);
  }
}

#ifdef NLPC_HAVE_SNDFILE
std::string container_name(int format) {
  switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: return "WAV";
    case SF_FORMAT_WAVEX: return "WAVEX";
    case SF_FORMAT_FLAC: return "FLAC";
    case SF_FORMAT_OGG: return "OGG";
    case SF_FORMAT_AIFF: return "AIFF";
    case SF_FORMAT_AU: return "AU";
    case SF_FORMAT_W64: return "W64";
    case SF_FORMAT_RF64: return "RF64";
#ifdef SF_FORMAT_MPEG
    case SF_FORMAT_MPEG: return "MPEG";
#endif
    default: return "other";
  }
}

// Decodes the whole file as interleaved float frames.
std::vector<float> read_sndfile(const std::string& path, AudioInfo& info) {
  SF_INFO sfinfo;
  std::memset(&sfinfo, 0, sizeof(sfinfo));
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &sfinfo);
  if (!f) {
    std::string why = sf_strerror(nullptr);
    if (!file_exists(path)) why = "no such file";
    throw InputError(path, 0, 0,
                     "cannot decode audio: " + why +
                         " (expected WAV, FLAC, OGG/Vorbis/Opus or MP3 readable by libsndfile; for "
                         "headerless 16-bit PCM use --audio-format raw --sample-rate N)");
  }
  info.source_rate = sfinfo.samplerate;
  info.source_channels = sfinfo.channels;
  info.container = container_name(sfinfo.format);
  if (sfinfo.channels <= 0 || sfinfo.samplerate <= 0) {
    sf_close(f);
    throw InputError(path, 0, 0, "audio header has no channels or no sample rate");
  }
  std::vector<float> out;
  std::vector<float> buf(static_cast<size_t>(4096) * sfinfo.channels);
  for (;;) {
    sf_count_t n = sf_readf_float(f, buf.data(), 4096);
    if (n <= 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n * sfinfo.channels);
  }
  int err = sf_error(f);
  std::string errmsg = err ? sf_strerror(f) : "";
  sf_close(f);
  if (err) throw InputError(path, 0, 0, "audio data is corrupt: " + errmsg);
  info.source_frames = static_cast<int64_t>(out.size() / sfinfo.channels);
  return out;
}
#endif

}  // namespace

std::vector<float> decode_s16le(const std::string& bytes, int channels, const std::string& name) {
  if (channels <= 0) throw UsageError("raw audio: channels must be >= 1");
  size_t frame_bytes = 2 * static_cast<size_t>(channels);
  if (bytes.size() % frame_bytes != 0) {
    throw InputError(name, 0, 0,
                     "raw s16le audio has " + std::to_string(bytes.size()) +
                         " bytes, not a multiple of " + std::to_string(frame_bytes) +
                         " (2 bytes x " + std::to_string(channels) + " channels)");
  }
  std::vector<float> out(bytes.size() / 2);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (size_t i = 0; i < out.size(); ++i) {
    auto v = static_cast<int16_t>(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
    out[i] = static_cast<float>(v) / 32768.0f;
  }
  return out;
}

std::vector<float> mix_to_mono(const std::vector<float>& interleaved, int channels) {
  if (channels == 1) return interleaved;
  size_t frames = interleaved.size() / channels;
  std::vector<float> out(frames);
  for (size_t i = 0; i < frames; ++i) {
    double s = 0;
    for (int c = 0; c < channels; ++c) s += interleaved[i * channels + c];
    out[i] = static_cast<float>(s / channels);
  }
  return out;
}

std::vector<float> resample(const std::vector<float>& mono, int from_rate, int to_rate) {
  if (from_rate == to_rate || mono.empty()) return mono;
#ifdef NLPC_HAVE_SOXR
  size_t out_len = static_cast<size_t>(
      std::llround(static_cast<double>(mono.size()) * to_rate / static_cast<double>(from_rate)));
  std::vector<float> out(out_len + 16);
  size_t done = 0;
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  soxr_error_t err = soxr_oneshot(from_rate, to_rate, 1, mono.data(), mono.size(), nullptr,
                                  out.data(), out.size(), &done, &io, &q, nullptr);
  if (err) throw RuntimeError(std::string("libsoxr resampling failed: ") + err);
  out.resize(std::min(done, out_len));
  return out;
#else
  throw RuntimeError("audio at " + std::to_string(from_rate) + " Hz needs resampling to " +
                     std::to_string(to_rate) +
                     " Hz, but nlpc was built without libsoxr (install libsoxr-dev and rebuild)");
#endif
}

std::vector<float> load_audio(const std::string& path, const AudioOptions& opts, AudioInfo* info_out) {
  if (path == "-") throw UsageError("audio cannot be read from stdin; give a file path");
  AudioInfo info;
  std::vector<float> interleaved;
  bool raw = opts.format == "raw" || (opts.format == "auto" && is_raw_extension(path));
  if (opts.format != "raw" && opts.format != "auto" && opts.format != "file") {
    throw UsageError("--audio-format: expected auto, raw or file, got '" + opts.format + "'");
  }
  if (raw) {
    if (opts.raw_sample_rate <= 0) {
      throw UsageError(path + ": raw s16le audio needs --sample-rate (e.g. --sample-rate 16000)");
    }
    interleaved = decode_s16le(read_file(path), opts.raw_channels, path);
    info.source_rate = opts.raw_sample_rate;
    info.source_channels = opts.raw_channels;
    info.source_frames = static_cast<int64_t>(interleaved.size() / opts.raw_channels);
    info.container = "RAW";
  } else {
#ifdef NLPC_HAVE_SNDFILE
    warn_if_truncated_wav(path);
    interleaved = read_sndfile(path, info);
#else
    throw RuntimeError("nlpc was built without libsndfile (install libsndfile1-dev and rebuild); "
                       "only raw s16le audio can be read: " + path);
#endif
  }
  if (info.source_frames == 0) throw InputError(path, 0, 0, "audio file contains no samples");
  std::vector<float> mono = mix_to_mono(interleaved, info.source_channels);
  for (float v : mono) {
    if (!std::isfinite(v)) throw InputError(path, 0, 0, "audio contains NaN or infinite samples");
  }
  if (info_out) *info_out = info;
  return resample(mono, info.source_rate, opts.target_rate);
}

void write_wav_s16(const std::string& path, const std::vector<float>& mono, int sample_rate) {
  auto le32 = [](std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto le16 = [](std::string& s, uint16_t v) {
    s.push_back(static_cast<char>(v & 0xff));
    s.push_back(static_cast<char>(v >> 8));
  };
  uint32_t data_bytes = static_cast<uint32_t>(mono.size() * 2);
  std::string out = "RIFF";
  le32(out, 36 + data_bytes);
  out += "WAVEfmt ";
  le32(out, 16);
  le16(out, 1);  // PCM
  le16(out, 1);  // mono
  le32(out, static_cast<uint32_t>(sample_rate));
  le32(out, static_cast<uint32_t>(sample_rate * 2));
  le16(out, 2);
  le16(out, 16);
  out += "data";
  le32(out, data_bytes);
  for (float v : mono) {
    long s = std::lround(std::clamp(v, -1.0f, 1.0f) * 32767.0f);
    le16(out, static_cast<uint16_t>(static_cast<int16_t>(s)));
  }
  write_file_atomic(path, out);
}

}  // namespace nlpc::audio
