// Whisper decoding rules (openai/whisper decoding.py), special tokens and output formats.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/models/whisper/decode.h"
#include "nlpc/io/transcript.h"
#include "nlpc/text/tokenizer.h"

// libtorch pulls in glog, whose CHECK(cond) aborts and replaces Catch's CHECK; restore Catch's.
#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using namespace nlpc;
using models::DecodeOptions;
using models::WhisperTokens;

namespace {

// A toy vocabulary: text 0..9, eot 10, specials 11..17, timestamps 18..29 (0.00 .. 0.22 s).
WhisperTokens toy_tokens() {
  WhisperTokens t;
  t.eot = 10;
  t.sot = 11;
  t.translate = 12;
  t.transcribe = 13;
  t.sot_lm = 14;
  t.sot_prev = 15;
  t.no_speech = 16;
  t.no_timestamps = 17;
  t.timestamp_begin = 18;
  t.suppress_tokens = {3};
  t.begin_suppress_tokens = {2, 10};
  return t;
}

// Which ids are still allowed (finite) after the filters.
std::vector<int64_t> allowed(const torch::Tensor& logits) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < logits.size(0); ++i) if (std::isfinite(logits[i].item<float>())) out.push_back(i);
  return out;
}

std::vector<int64_t> filter(const std::vector<int64_t>& sampled, const DecodeOptions& o, torch::Tensor logits = {}) {
  auto t = toy_tokens();
  std::vector<int64_t> seq = {t.sot};
  seq.insert(seq.end(), sampled.begin(), sampled.end());
  if (!logits.defined()) {  // text (and EOT) far more likely than any timestamp
    logits = torch::zeros({1, 30});
    logits[0].slice(0, 0, 11).fill_(5.0);
  }
  std::vector<std::vector<int64_t>> tokens = {seq};
  models::apply_logit_filters(logits, tokens, 1, t, o);
  return allowed(logits[0]);
}

std::vector<int64_t> range(int64_t a, int64_t b) {
  std::vector<int64_t> v;
  for (int64_t i = a; i < b; ++i) v.push_back(i);
  return v;
}

std::vector<int64_t> cat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("timestamp rules: start with a timestamp, pairs, no going back", "[whisper]") {
  DecodeOptions o;
  o.max_initial_timestamp = 0.04;  // timestamp index <= 2
  CHECK(filter({}, o) == std::vector<int64_t>{18, 19, 20});
  // after one timestamp: text or EOT (no timestamp directly after the first)
  CHECK(filter({19}, o) == std::vector<int64_t>{0, 1, 2, 4, 5, 6, 7, 8, 9, 10});
  // after text: text, EOT or a timestamp >= the last one + 1
  CHECK(filter({19, 5}, o) == cat({0, 1, 2, 4, 5, 6, 7, 8, 9, 10}, range(20, 30)));
  // after text + timestamp: a timestamp >= it (closing the pair) or EOT, not text
  CHECK(filter({19, 5, 22}, o) == cat({10}, range(22, 30)));
  // after a pair: text only
  CHECK(filter({19, 5, 22, 22}, o) == std::vector<int64_t>{0, 1, 2, 4, 5, 6, 7, 8, 9, 10});
  // timestamps whose total probability beats every text token win
  auto logits = torch::zeros({1, 30});
  logits[0].slice(0, 18).fill_(1.0);
  logits[0][5] = 2.0;  // logsumexp of 12 timestamps at 1.0 = 3.48 > 2.0
  CHECK(filter({19, 5}, o, logits) == range(20, 30));
  o.timestamps = false;  // only the suppress lists (blank + tokens + specials) at the start
  CHECK(filter({}, o) == cat({0, 1, 4, 5, 6, 7, 8, 9}, range(17, 30)));
  CHECK(filter({4}, o) == cat({0, 1, 2, 4, 5, 6, 7, 8, 9, 10}, range(17, 30)));
}

TEST_CASE("SOT sequences, prompts and special tokens of the real vocabulary", "[whisper]") {
  test::TempDir dir;
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json"}) {
    std::filesystem::copy_file(test::fixture(std::string("text/whisper-tiny/") + f), dir.file(f));
  }
  std::filesystem::copy_file(test::fixture("whisper/generation_config.json"), dir.file("generation_config.json"));
  auto tok = text::load_tokenizer(dir.path().string());
  auto t = models::load_whisper_tokens(*tok, dir.path().string());
  CHECK(t.eot == 50257);
  CHECK(t.sot == 50258);
  CHECK(t.language_id("en") == 50259);
  CHECK(t.language_code(50260) == "zh");
  CHECK(t.languages.size() == 99);
  CHECK(t.translate == 50358);
  CHECK(t.transcribe == 50359);
  CHECK(t.sot_lm == 50360);
  CHECK(t.sot_prev == 50361);
  CHECK(t.no_speech == 50362);
  CHECK(t.no_timestamps == 50363);
  CHECK(t.timestamp_begin == 50364);
  CHECK(t.multilingual);
  CHECK(t.begin_suppress_tokens == std::vector<int64_t>{220, 50257});
  CHECK(t.suppress_tokens.size() == 88);
  DecodeOptions o;
  o.language = "de";
  CHECK(models::sot_sequence(t, o) == std::vector<int64_t>{50258, 50261, 50359});
  o.task = "translate";
  o.timestamps = false;
  o.prompt = {1, 2, 3};
  CHECK(models::sot_sequence(t, o) == std::vector<int64_t>{50361, 1, 2, 3, 50258, 50261, 50358, 50363});
  o.prompt.assign(300, 7);  // at most n_text_ctx / 2 - 1 = 223 prompt tokens
  CHECK(models::sot_sequence(t, o).size() == 1 + 223 + 4);
  o.language = "xx";
  CHECK_THROWS_AS(models::sot_sequence(t, o), UsageError);
}

TEST_CASE("Whisper tokens: the model's language and task from generation_config.json, as HF generate() reads them",
          "[whisper]") {
  test::TempDir dir;
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json"}) {
    std::filesystem::copy_file(test::fixture(std::string("text/whisper-tiny/") + f), dir.file(f));
  }
  const nlohmann::json base = nlohmann::json::parse(test::read_file(test::fixture("whisper/generation_config.json")));
  auto tok = text::load_tokenizer(dir.path().string());
  auto load_with = [&](const nlohmann::json& patch) {
    nlohmann::json g = base;
    g.merge_patch(patch);
    test::write_file(dir.file("generation_config.json"), g.dump());
    return models::load_whisper_tokens(*tok, dir.path().string());
  };
  // whisper-tiny as released: forced_decoder_ids [[1, null], [2, <|transcribe|>]]: detect, transcribe
  auto t = load_with(nlohmann::json::object());
  CHECK(t.default_language.empty());
  CHECK(t.default_task == "transcribe");
  // older fine-tuned checkpoints: forced_decoder_ids name the language and the task
  t = load_with({{"forced_decoder_ids", {{1, 50267}, {2, 50358}, {3, 50363}}}});
  CHECK(t.default_language == "pt");
  CHECK(t.default_task == "translate");
  // newer ones: "language" (code, <|code|> or English name, any case) and "task" win over forced ids
  for (const char* spec : {"pt", "<|pt|>", "Portuguese", "portuguese"}) {
    t = load_with({{"language", spec}, {"task", "transcribe"}, {"forced_decoder_ids", {{1, 50259}, {2, 50358}}}});
    CHECK(t.default_language == "pt");
    CHECK(t.default_task == "transcribe");
  }
  CHECK(models::resolve_language(t, "Castilian") == "es");  // openai/whisper's aliases
  CHECK(models::resolve_language(t, "<|DE|>") == "de");
  CHECK_THROWS_WITH(models::resolve_language(t, "klingon"), Catch::Contains("unknown language 'klingon'"));
  CHECK_THROWS_WITH(load_with({{"language", "klingon"}}), Catch::Contains("generation_config.json") &&
                                                               Catch::Contains("klingon"));
  CHECK_THROWS_WITH(load_with({{"task", "summarize"}}), Catch::Contains("expected transcribe or translate"));
}

TEST_CASE("compression ratio equals Python's len(b) / len(zlib.compress(b))", "[whisper]") {
  CHECK(models::compression_ratio("hello hello hello hello hello hello") == Approx(2.0588235294117645).epsilon(1e-12));
  CHECK(models::compression_ratio("And so my fellow Americans, ask not what your country can do for you, ask what "
                                  "you can do for your country.") == Approx(1.3544303797468353).epsilon(1e-12));
  CHECK(models::compression_ratio("ünïcödé テスト") ==
        Approx(0.7).epsilon(1e-12));
}

TEST_CASE("transcripts as txt, json, srt and vtt", "[whisper]") {
  io::Transcript t;
  t.language = "en";
  t.text = " Ask not. What you can do.";
  io::TranscriptSegment a, b;
  a.start = 0.0;
  a.end = 2.5;
  a.text = " Ask not.";
  a.tokens = {50364, 12320, 50489};
  a.avg_logprob = -0.25;
  b.start = 3661.02;
  b.end = 3663.5;
  b.text = " What you can do.";
  t.segments = {a, b};
  CHECK(io::format_transcript(t, "txt") == "Ask not.\nWhat you can do.\n");
  CHECK(io::format_transcript(t, "srt") ==
        "1\n00:00:00,000 --> 00:00:02,500\nAsk not.\n\n2\n01:01:01,020 --> 01:01:03,500\nWhat you can do.\n\n");
  CHECK(io::format_transcript(t, "vtt") ==
        "WEBVTT\n\n00:00.000 --> 00:02.500\nAsk not.\n\n01:01:01.020 --> 01:01:03.500\nWhat you can do.\n\n");
  auto j = nlohmann::json::parse(io::format_transcript(t, "json"));
  CHECK(j["text"] == " Ask not. What you can do.");
  CHECK(j["language"] == "en");
  CHECK(j["segments"].size() == 2);
  CHECK(j["segments"][0]["tokens"] == nlohmann::json({50364, 12320, 50489}));
  CHECK(j["segments"][0]["end"] == 2.5);
  CHECK(j["segments"][0]["avg_logprob"] == -0.25);
  CHECK(j["segments"][1]["start"] == 3661.02);
  CHECK_THROWS_AS(io::format_transcript(t, "docx"), UsageError);
}

TEST_CASE("English-only vocabularies: specials from generation_config and their fixed order", "[whisper]") {
  test::TempDir dir;
  for (const char* f : {"vocab.json", "merges.txt"}) {
    std::filesystem::copy_file(test::fixture(std::string("text/whisper-tiny/") + f), dir.file(f));
  }
  // whisper-tiny.en's ids: vocab without the added tokens, specials from generation_config.en.json
  std::filesystem::copy_file(test::fixture("whisper/generation_config.en.json"), dir.file("generation_config.json"));
  auto tok = text::load_tokenizer(dir.path().string());
  auto t = models::load_whisper_tokens(*tok, dir.path().string());
  CHECK_FALSE(t.multilingual);
  CHECK(t.sot == 50257);
  CHECK(t.no_timestamps == 50362);
  CHECK(t.timestamp_begin == 50363);
  CHECK(t.no_speech == 50361);
  CHECK(t.sot_prev == 50360);
  DecodeOptions o;
  CHECK(models::sot_sequence(t, o) == std::vector<int64_t>{50257});
  o.task = "translate";
  CHECK_THROWS_AS(models::sot_sequence(t, o), UsageError);
}
