// Whisper log-mel features and .npy I/O. See include/nlpc/audio/mel.h.
#include "nlpc/audio/mel.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"

namespace nlpc::audio {
namespace {

// Slaney's auditory-toolbox mel scale (librosa htk=False): linear below 1 kHz, log above.
constexpr double kFSp = 200.0 / 3.0;
constexpr double kMinLogHz = 1000.0;
constexpr double kMinLogMel = kMinLogHz / kFSp;  // 15

double log_step() { return std::log(6.4) / 27.0; }

double hz_to_mel(double hz) {
  if (hz >= kMinLogHz) return kMinLogMel + std::log(hz / kMinLogHz) / log_step();
  return hz / kFSp;
}

double mel_to_hz(double mel) {
  if (mel >= kMinLogMel) return kMinLogHz * std::exp(log_step() * (mel - kMinLogMel));
  return kFSp * mel;
}

}  // namespace

torch::Tensor mel_filters_slaney(int64_t n_mels, int64_t sample_rate, int64_t n_fft) {
  const int64_t n_bins = n_fft / 2 + 1;
  std::vector<double> fft_freqs(n_bins);
  for (int64_t k = 0; k < n_bins; ++k) {
    fft_freqs[k] = static_cast<double>(sample_rate) / 2.0 * k / (n_bins - 1);
  }
  // n_mels + 2 band edges evenly spaced on the mel scale between 0 Hz and Nyquist
  std::vector<double> edges(n_mels + 2);
  double mel_max = hz_to_mel(sample_rate / 2.0);
  for (int64_t i = 0; i < n_mels + 2; ++i) {
    edges[i] = mel_to_hz(mel_max * i / static_cast<double>(n_mels + 1));
  }
  auto out = torch::zeros({n_mels, n_bins}, torch::kFloat32);
  auto acc = out.accessor<float, 2>();
  for (int64_t m = 0; m < n_mels; ++m) {
    double lo_width = edges[m + 1] - edges[m];
    double hi_width = edges[m + 2] - edges[m + 1];
    double enorm = 2.0 / (edges[m + 2] - edges[m]);
    for (int64_t k = 0; k < n_bins; ++k) {
      double lower = (fft_freqs[k] - edges[m]) / lo_width;
      double upper = (edges[m + 2] - fft_freqs[k]) / hi_width;
      acc[m][k] = static_cast<float>(std::max(0.0, std::min(lower, upper)) * enorm);
    }
  }
  return out;
}

torch::Tensor load_mel_filters(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, 0, 0, std::string("invalid JSON: ") + e.what());
  }
  if (!j.contains("mel_filters") || !j["mel_filters"].is_array() || j["mel_filters"].empty()) {
    throw InputError(path, 0, 0, "no \"mel_filters\" array ([n_freqs][n_mels]) in the preprocessor config");
  }
  // transformers stores [n_mels][201] (4.2x) or [201][n_mels] (later versions): accept both
  const auto& rows = j["mel_filters"];
  const int64_t n_bins = kNFft / 2 + 1;
  int64_t n_rows = static_cast<int64_t>(rows.size());
  int64_t n_cols = rows[0].is_array() ? static_cast<int64_t>(rows[0].size()) : 0;
  bool bins_first = n_rows == n_bins && n_cols != n_bins;
  if (!bins_first && n_cols != n_bins) {
    throw InputError(path, 0, 0, "mel_filters is " + std::to_string(n_rows) + " x " + std::to_string(n_cols) +
                                     ", expected [n_mels][201] or [201][n_mels]");
  }
  int64_t n_mels = bins_first ? n_cols : n_rows;
  auto out = torch::zeros({n_mels, n_bins}, torch::kFloat32);
  auto acc = out.accessor<float, 2>();
  for (int64_t r = 0; r < n_rows; ++r) {
    if (!rows[r].is_array() || static_cast<int64_t>(rows[r].size()) != n_cols) {
      throw InputError(path, 0, 0, "mel_filters row " + std::to_string(r) + " does not have " +
                                       std::to_string(n_cols) + " numbers");
    }
    for (int64_t c = 0; c < n_cols; ++c) {
      float v = rows[r][c].get<float>();
      if (bins_first) acc[c][r] = v;
      else acc[r][c] = v;
    }
  }
  return out;
}

torch::Tensor mel_filters_for_model(const std::string& model_dir, int64_t n_mels) {
  std::string pre = (std::filesystem::path(model_dir) / "preprocessor_config.json").string();
  torch::Tensor filters;
  if (file_exists(pre)) {
    auto j = nlohmann::json::parse(read_file(pre), nullptr, false);
    if (!j.is_discarded() && j.contains("mel_filters")) filters = load_mel_filters(pre);
  }
  if (!filters.defined()) filters = mel_filters_slaney(n_mels);
  if (filters.size(0) != n_mels) {
    throw InputError(pre, 0, 0, "mel_filters has " + std::to_string(filters.size(0)) +
                                    " bands but the model's num_mel_bins is " + std::to_string(n_mels));
  }
  return filters;
}

torch::Tensor log_mel_spectrogram(const torch::Tensor& audio, const torch::Tensor& filters,
                                  int64_t padding) {
  // audio: [samples] float32
  torch::Tensor x = audio.to(torch::kFloat32).flatten();
  if (padding > 0) x = torch::constant_pad_nd(x, {0, padding}, 0.0);
  if (x.size(0) <= kNFft / 2) {
    throw InputError("audio is too short for the STFT: " + std::to_string(x.size(0)) +
                     " samples (reflect padding needs more than 200)");
  }
  auto window = torch::hann_window(kNFft, /*periodic=*/true, torch::kFloat32);
  // stft: [201, frames] complex, centred with reflect padding of n_fft / 2 on both sides
  auto stft = torch::stft(x, kNFft, kHopLength, kNFft, window, /*center=*/true, "reflect",
                          /*normalized=*/false, /*onesided=*/true, /*return_complex=*/true);
  auto magnitudes = torch::abs(stft.slice(1, 0, stft.size(1) - 1)).pow(2);  // [201, frames]
  auto mel = torch::matmul(filters.to(magnitudes.device()), magnitudes);   // [n_mels, frames]
  auto log_spec = torch::clamp_min(mel, 1e-10).log10();
  log_spec = torch::maximum(log_spec, log_spec.max() - 8.0);
  return (log_spec + 4.0) / 4.0;
}

WhisperFeatures whisper_features(const std::vector<float>& audio, const torch::Tensor& filters) {
  auto t = torch::from_blob(const_cast<float*>(audio.data()), {static_cast<int64_t>(audio.size())},
                            torch::kFloat32);
  WhisperFeatures f;
  f.mel = log_mel_spectrogram(t, filters, kNSamples);
  f.content_frames = f.mel.size(1) - kNFrames;
  return f;
}

torch::Tensor window_features(const WhisperFeatures& f, int64_t seek, int64_t frames) {
  int64_t size = std::min(frames, f.content_frames - seek);
  if (size <= 0) return torch::zeros({f.mel.size(0), frames}, f.mel.options());
  return pad_or_trim(f.mel.slice(1, seek, seek + size), frames);
}

torch::Tensor pad_or_trim(const torch::Tensor& x, int64_t length) {
  int64_t n = x.size(-1);
  if (n > length) return x.narrow(-1, 0, length);
  if (n < length) return torch::constant_pad_nd(x, {0, length - n}, 0.0);
  return x;
}

void write_npy(const std::string& path, const torch::Tensor& x) {
  auto t = x.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  std::ostringstream shape;
  shape << "(";
  for (int64_t i = 0; i < t.dim(); ++i) shape << t.size(i) << (t.dim() == 1 || i + 1 < t.dim() ? "," : "") << (i + 1 < t.dim() ? " " : "");
  shape << ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape.str() + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.append(static_cast<const char*>(t.data_ptr()), t.numel() * sizeof(float));
  write_file_atomic(path, out);
}

torch::Tensor read_npy(const std::string& path) {
  std::string s = read_file(path);
  if (s.size() < 10 || s.compare(0, 6, "\x93NUMPY") != 0) throw InputError(path, 0, 0, "not a .npy file");
  int major = static_cast<unsigned char>(s[6]);
  size_t hlen, off;
  if (major == 1) {
    hlen = static_cast<unsigned char>(s[8]) | (static_cast<unsigned char>(s[9]) << 8);
    off = 10;
  } else {
    hlen = 0;
    for (int i = 0; i < 4; ++i) hlen |= static_cast<size_t>(static_cast<unsigned char>(s[8 + i])) << (8 * i);
    off = 12;
  }
  if (off + hlen > s.size()) throw InputError(path, 0, 0, ".npy header is truncated");
  std::string header = s.substr(off, hlen);
  if (header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos) {
    throw InputError(path, 0, 0, "only little-endian float32 C-order .npy is supported, header: " + header);
  }
  auto p0 = header.find('(', header.find("'shape'"));
  auto p1 = header.find(')', p0);
  std::vector<int64_t> shape;
  std::stringstream ss(header.substr(p0 + 1, p1 - p0 - 1));
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(item));
  }
  int64_t numel = 1;
  for (auto d : shape) numel *= d;
  size_t data_off = off + hlen;
  if (s.size() - data_off != static_cast<size_t>(numel) * 4) {
    throw InputError(path, 0, 0, ".npy data size does not match its shape");
  }
  auto t = torch::empty(shape, torch::kFloat32);
  std::memcpy(t.data_ptr(), s.data() + data_off, numel * 4);
  return t;
}

}  // namespace nlpc::audio
