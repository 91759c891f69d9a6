// Audio input and Whisper log-mel features. Golden values: scripts/ref/whisper_audio_ref.py.
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/audio/audio.h"
#include "nlpc/audio/mel.h"
#include "nlpc/core/error.h"

// libtorch pulls in glog, whose CHECK(cond) aborts and replaces Catch's CHECK; restore Catch's.
#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using namespace nlpc;
using nlpc::test::fixture;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("jfk.wav decodes to 16 kHz mono float like whisper's s16le path", "[audio]") {
  audio::AudioInfo info;
  auto a = audio::load_audio(fixture("audio/jfk.wav"), {}, &info);
  CHECK(a.size() == 176000);
  CHECK(info.source_rate == 16000);
  CHECK(info.source_channels == 1);
  CHECK(info.container == "WAV");
  // same samples as the raw payload (after the "data" chunk header) divided by 32768
  std::string file = test::read_file(fixture("audio/jfk.wav"));
  std::string bytes = file.substr(file.find("data") + 8);
  auto raw = audio::decode_s16le(bytes, 1, "jfk");
  REQUIRE(raw.size() == a.size());
  for (size_t i = 0; i < a.size(); i += 997) REQUIRE(raw[i] == a[i]);
}

TEST_CASE("log-mel features match the NumPy reference on jfk.wav within 1e-4", "[audio]") {
  auto a = audio::load_audio(fixture("audio/jfk.wav"));
  auto filters = audio::read_npy(fixture("audio/mel_filters_80.npy"));
  auto f = audio::whisper_features(a, filters);
  auto ref = audio::read_npy(fixture("audio/jfk_mel.npy"));  // [80, 1100]
  REQUIRE(f.content_frames == 1100);
  REQUIRE(f.mel.sizes() == torch::IntArrayRef({80, 4100}));
  double diff = (f.mel.slice(1, 0, 1100) - ref).abs().max().item<double>();
  INFO("max abs diff " << diff);
  CHECK(diff <= 1e-4);
  auto w = audio::window_features(f, 0);  // [80, 3000]: content then zeros
  REQUIRE(w.sizes() == torch::IntArrayRef({80, 3000}));
  CHECK((w.slice(1, 0, 1100) - ref).abs().max().item<double>() <= 1e-4);
  CHECK(w.slice(1, 1100).abs().max().item<double>() == 0.0);
  auto w2 = audio::window_features(f, 1000);
  CHECK((w2.slice(1, 0, 100) - ref.slice(1, 1000)).abs().max().item<double>() <= 1e-4);
}

TEST_CASE("Slaney mel filters match whisper's mel_filters.npz", "[audio]") {
  for (int n : {80, 128}) {
    auto mine = audio::mel_filters_slaney(n);
    auto ref = audio::read_npy(fixture("audio/mel_filters_" + std::to_string(n) + ".npy"));
    REQUIRE(mine.sizes() == ref.sizes());
    CHECK((mine - ref).abs().max().item<double>() < 1e-6);
  }
}

TEST_CASE("resampling to 16 kHz keeps duration and pitch; channels are averaged", "[audio]") {
  test::TempDir dir;
  std::vector<float> sine(8000);  // 1 s at 8 kHz, 440 Hz
  for (size_t i = 0; i < sine.size(); ++i) sine[i] = 0.5f * std::sin(2 * M_PI * 440.0 * i / 8000.0);
  audio::write_wav_s16(dir.file("s8k.wav"), sine, 8000);
  auto a = audio::load_audio(dir.file("s8k.wav"));
  REQUIRE(a.size() == 16000);
  double max_err = 0;
  for (size_t i = 1000; i < 15000; ++i) {
    max_err = std::max(max_err, std::abs(a[i] - 0.5 * std::sin(2 * M_PI * 440.0 * i / 16000.0)));
  }
  CHECK(max_err < 2e-3);
  // stereo raw s16le: left = 0.5, right = -0.25 -> mono 0.125
  std::string raw;
  for (int i = 0; i < 100; ++i) {
    for (int16_t v : {int16_t(16384), int16_t(-8192)}) {
      raw.push_back(static_cast<char>(v & 0xff));
      raw.push_back(static_cast<char>((v >> 8) & 0xff));
    }
  }
  test::write_file(dir.file("st.raw"), raw);
  audio::AudioOptions o;
  o.raw_sample_rate = 16000;
  o.raw_channels = 2;
  auto m = audio::load_audio(dir.file("st.raw"), o);
  REQUIRE(m.size() == 100);
  CHECK(m[50] == Approx(0.125f));
}

TEST_CASE("bad audio input gives errors naming the file", "[audio]") {
  test::TempDir dir;
  test::write_file(dir.file("empty.wav"), "");
  test::write_file(dir.file("junk.wav"), "this is not audio at all, just text pretending");
  test::write_file(dir.file("odd.raw"), "abc");
  CHECK_THROWS_AS(audio::load_audio(dir.file("empty.wav")), InputError);
  CHECK_THAT(error_of([&] { audio::load_audio(dir.file("junk.wav")); }),
             Catch::Contains("junk.wav") && Catch::Contains("cannot decode audio"));
  CHECK_THAT(error_of([&] { audio::load_audio(dir.file("missing.flac")); }),
             Catch::Contains("missing.flac") && Catch::Contains("no such file"));
  CHECK_THROWS_AS(audio::load_audio(dir.file("odd.raw")), UsageError);  // no --sample-rate
  audio::AudioOptions o;
  o.raw_sample_rate = 16000;
  CHECK_THAT(error_of([&] { audio::load_audio(dir.file("odd.raw"), o); }),
             Catch::Contains("odd.raw") && Catch::Contains("not a multiple of 2"));
  // a WAV header with zero frames
  audio::write_wav_s16(dir.file("zero.wav"), {}, 16000);
  CHECK_THAT(error_of([&] { audio::load_audio(dir.file("zero.wav")); }),
             Catch::Contains("zero.wav") && Catch::Contains("no samples"));
}

TEST_CASE(".npy files round-trip", "[audio]") {
  test::TempDir dir;
  auto x = torch::arange(12, torch::kFloat32).reshape({3, 4});
  audio::write_npy(dir.file("x.npy"), x);
  auto y = audio::read_npy(dir.file("x.npy"));
  CHECK(torch::equal(x, y));
  std::string s = test::read_file(dir.file("x.npy"));
  CHECK(s.find("'shape': (3, 4)") != std::string::npos);
  CHECK((s.size() - 12 * 4) % 64 == 0);
}

TEST_CASE("preprocessor_config.json mel_filters in either orientation", "[audio]") {
  test::TempDir dir;
  auto f = audio::mel_filters_slaney(80);
  auto to_json = [](const torch::Tensor& t) {
    nlohmann::json rows = nlohmann::json::array();
    for (int64_t r = 0; r < t.size(0); ++r) {
      nlohmann::json row = nlohmann::json::array();
      for (int64_t c = 0; c < t.size(1); ++c) row.push_back(t[r][c].item<float>());
      rows.push_back(row);
    }
    return nlohmann::json{{"feature_size", 80}, {"mel_filters", rows}}.dump();
  };
  test::write_file(dir.file("a.json"), to_json(f));
  test::write_file(dir.file("b.json"), to_json(f.t()));
  CHECK(torch::equal(audio::load_mel_filters(dir.file("a.json")), f));
  CHECK(torch::equal(audio::load_mel_filters(dir.file("b.json")), f));
  test::write_file(dir.file("c.json"), R"({"mel_filters": [[1, 2], [3, 4]]})");
  CHECK_THAT(error_of([&] { audio::load_mel_filters(dir.file("c.json")); }),
             Catch::Contains("c.json") && Catch::Contains("expected [n_mels][201] or [201][n_mels]"));
}

#if __has_include(<sndfile.h>)  // NLPC_HAVE_SNDFILE is private to the library targets
#include <sndfile.h>

namespace {
// Writes interleaved float frames with libsndfile in `format`.
void write_sndfile(const std::string& path, const std::vector<float>& frames, int rate, int channels, int format) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE(f != nullptr);
  if ((format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16) {  // exact: the samples are k / 32768
    std::vector<short> pcm;
    for (float v : frames) pcm.push_back(static_cast<short>(std::lround(v * 32768.0f)));
    sf_writef_short(f, pcm.data(), static_cast<sf_count_t>(pcm.size() / channels));
  } else {
    sf_writef_float(f, frames.data(), static_cast<sf_count_t>(frames.size() / channels));
  }
  sf_close(f);
}
}  // namespace

TEST_CASE("FLAC is lossless, OGG decodes, 44.1 kHz stereo comes back to 16 kHz mono", "[audio]") {
  test::TempDir dir;
  auto jfk = audio::load_audio(fixture("audio/jfk.wav"));
  write_sndfile(dir.file("a.flac"), jfk, 16000, 1, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  audio::AudioInfo info;
  auto flac = audio::load_audio(dir.file("a.flac"), {}, &info);
  CHECK(info.container == "FLAC");
  CHECK(flac == jfk);
  write_sndfile(dir.file("a.ogg"), jfk, 16000, 1, SF_FORMAT_OGG | SF_FORMAT_VORBIS);
  auto ogg = audio::load_audio(dir.file("a.ogg"), {}, &info);
  CHECK(info.container == "OGG");
  CHECK(ogg.size() == jfk.size());
  // upsample to 44.1 kHz stereo (left = right) with soxr, store as float WAV, load back
  auto up = audio::resample(jfk, 16000, 44100);
  std::vector<float> stereo;
  for (float v : up) {
    stereo.push_back(v);
    stereo.push_back(v);
  }
  write_sndfile(dir.file("s.wav"), stereo, 44100, 2, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  auto back = audio::load_audio(dir.file("s.wav"), {}, &info);
  CHECK(info.source_rate == 44100);
  CHECK(info.source_channels == 2);
  REQUIRE(back.size() == jfk.size());
  auto filters = audio::read_npy(fixture("audio/mel_filters_80.npy"));
  auto a = audio::whisper_features(jfk, filters).mel, b = audio::whisper_features(back, filters).mel;
  double mean_diff = (a - b).abs().mean().item<double>();
  INFO("mean abs mel diff after 16k -> 44.1k stereo -> 16k mono: " << mean_diff);
  CHECK(mean_diff < 1e-3);
}
#endif
