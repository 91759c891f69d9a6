// `nlpc transcribe` end to end with a small random-initialised Whisper (real vocabulary, so the real
// tokenizer and generation_config apply), made and saved at test time.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/audio/mel.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/whisper/whisper.h"

// libtorch pulls in glog, whose CHECK(cond) aborts and replaces Catch's CHECK; restore Catch's.
#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using namespace nlpc;
using nlpc::test::fixture;
using nlpc::test::run_nlpc;

namespace {

// d_model 32, 1 + 1 layers, whisper-tiny's vocabulary and contexts.
std::string make_model(const test::TempDir& dir) {
  auto j = nlohmann::json::parse(test::read_file(fixture("whisper/tiny-random/config.json")));
  j.update({{"d_model", 32}, {"encoder_layers", 1}, {"decoder_layers", 1}, {"encoder_attention_heads", 2},
            {"decoder_attention_heads", 2}, {"encoder_ffn_dim", 64}, {"decoder_ffn_dim", 64}, {"vocab_size", 51865},
            {"max_source_positions", 1500}, {"max_target_positions", 448}, {"pad_token_id", 50257},
            {"bos_token_id", 50257}, {"eos_token_id", 50257}, {"decoder_start_token_id", 50258}});
  auto cfg = models::parse_whisper_config(j, "config.json");
  cfg.init_std = 0.5;
  models::WhisperForConditionalGeneration m(cfg);
  m->init_weights(42);
  std::string out = dir.file("model");
  std::filesystem::create_directories(out);
  models::save_safetensors(out + "/model.safetensors", m->state());
  test::write_file(out + "/config.json", models::whisper_config_to_json(cfg).dump(2));
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json"}) {
    std::filesystem::copy_file(fixture(std::string("text/whisper-tiny/") + f), out + "/" + f);
  }
  std::filesystem::copy_file(fixture("whisper/generation_config.json"), out + "/generation_config.json");
  return out;
}

}  // namespace

TEST_CASE("nlpc transcribe: formats, output folders, features, determinism", "[whisper][e2e]") {
  test::TempDir dir;
  std::string model = make_model(dir);
  std::string jfk = fixture("audio/jfk.wav");
  std::string common = "transcribe -m " + model + " --temperatures 0 --max-new-tokens 6 ";
  auto r = run_nlpc(common + "--format json --language en " + jfk + " --dump-features " + dir.file("f.npy"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["language"] == "en");
  REQUIRE(j["segments"].is_array());
  std::string text;
  for (const auto& s : j["segments"]) {
    CHECK(s["start"].get<double>() <= s["end"].get<double>());
    CHECK(s["tokens"].size() <= 6);
    CHECK(s.contains("avg_logprob"));
    CHECK(s.contains("no_speech_prob"));
    text += s["text"].get<std::string>();
  }
  CHECK(j["text"] == text);
  // the dumped features are the golden features, zero-padded to one 30 s window
  auto f = audio::read_npy(dir.file("f.npy"));
  REQUIRE(f.sizes() == torch::IntArrayRef({80, 3000}));
  auto ref = audio::read_npy(fixture("audio/jfk_mel.npy"));
  CHECK((f.slice(1, 0, 1100) - ref).abs().max().item<double>() <= 1e-4);
  CHECK(f.slice(1, 1100).abs().max().item<double>() == 0.0);
  // same input, same output
  auto r2 = run_nlpc(common + "--format json --language en " + jfk);
  CHECK(r2.out == r.out);
  // two inputs into a folder: one file per input; beam search; no timestamps: one segment per window
  std::string raw = test::read_file(jfk);
  test::write_file(dir.file("jfk.s16"), raw.substr(raw.find("data") + 8));
  auto r3 = run_nlpc(common + "--beam-size 2 --no-timestamps --format vtt --language en --sample-rate 16000 -o " +
                     dir.file("out") + " " + jfk + " " + dir.file("jfk.s16"));
  INFO(r3.err);
  REQUIRE(r3.exit_code == 0);
  // same stem: the outputs are named after the whole file names; raw s16le gives the same transcript
  std::string a = test::read_file(dir.file("out/jfk.wav.vtt"));
  CHECK(a.rfind("WEBVTT\n\n", 0) == 0);
  CHECK(test::read_file(dir.file("out/jfk.s16.vtt")) == a);
  // language detection picks some language code
  auto r4 = run_nlpc(common + "--format json " + jfk);
  REQUIRE(r4.exit_code == 0);
  CHECK(nlohmann::json::parse(r4.out)["language"].get<std::string>().size() >= 2);
}

TEST_CASE("nlpc transcribe: bad inputs exit 2 naming the file", "[whisper][e2e]") {
  test::TempDir dir;
  std::string model = make_model(dir);
  test::write_file(dir.file("junk.wav"), "not audio");
  auto r = run_nlpc("transcribe -m " + model + " " + dir.file("junk.wav"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("junk.wav") && Catch::Contains("cannot decode audio"));
  r = run_nlpc("transcribe -m " + dir.file("nope") + " " + fixture("audio/jfk.wav"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("nope"));
  r = run_nlpc("transcribe -m " + model + " --format docx " + fixture("audio/jfk.wav"));
  CHECK(r.exit_code == 2);
  r = run_nlpc("transcribe -m " + model + " --language xx " + fixture("audio/jfk.wav"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown language 'xx'"));
}
