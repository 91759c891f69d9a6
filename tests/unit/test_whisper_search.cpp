// Whisper window decoding pinned token for token: greedy, timestamps, prompts, beam search with
// patience, sampling with best_of, the n_text_ctx limit. The expected values were recorded from
// decode_window before the decoding engine was shared with T5 (commit ddca135); any change in the
// decoded tokens, the sum logprob or the no-speech probability is a regression.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/models/whisper/whisper.h"
#include "nlpc/models/whisper/decode.h"
#include "nlpc/text/tokenizer.h"

// libtorch pulls in glog, whose CHECK(cond) aborts and replaces Catch's CHECK; restore Catch's.
#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using namespace nlpc;
using models::DecodeOptions;

namespace {

// d_model 32, 1 + 1 layers, whisper-tiny's vocabulary, a 100-frame window, random weights (std 0.5).
// eot_scale > 0: <|endoftext|> (whose embedding row, the padding row, is zero) gets the tied
// embedding of token 10447 times eot_scale, so that rows finish.
models::WhisperForConditionalGeneration tiny_model(int64_t max_target_positions, double eot_scale = 0.0) {
  auto j = nlohmann::json::parse(test::read_file(test::fixture("whisper/tiny-random/config.json")));
  j.update({{"d_model", 32},
            {"encoder_layers", 1},
            {"decoder_layers", 1},
            {"encoder_attention_heads", 2},
            {"decoder_attention_heads", 2},
            {"encoder_ffn_dim", 64},
            {"decoder_ffn_dim", 64},
            {"vocab_size", 51865},
            {"max_source_positions", 50},
            {"max_target_positions", max_target_positions},
            {"pad_token_id", 50257},
            {"bos_token_id", 50257},
            {"eos_token_id", 50257},
            {"decoder_start_token_id", 50258}});
  auto cfg = models::parse_whisper_config(j, "config.json");
  cfg.init_std = 0.5;
  models::WhisperForConditionalGeneration m(cfg);
  m->init_weights(42);
  if (eot_scale > 0) {
    torch::NoGradGuard no_grad;
    auto w = m->model->decoder->embed_tokens->weight;
    w[50257].copy_(w[10447] * eot_scale);
  }
  m->eval();
  return m;
}

struct PinnedCase {
  const char* name;
  DecodeOptions opts;
  std::vector<int64_t> tokens;
  double sum_logprob;
  double no_speech_prob;
};

DecodeOptions options(int max_new, bool timestamps, double temperature = 0, int beam = 0, int best_of = 1,
                      double patience = 1.0, uint64_t seed = 0) {
  DecodeOptions o;
  o.language = "en";
  o.max_new_tokens = max_new;
  o.timestamps = timestamps;
  o.temperature = temperature;
  o.beam_size = beam;
  o.best_of = best_of;
  o.patience = patience;
  o.seed = seed;
  return o;
}

DecodeOptions with_prompt(DecodeOptions o, std::vector<int64_t> prompt, std::string language = "en",
                          std::string task = "transcribe") {
  o.prompt = std::move(prompt);
  o.language = std::move(language);
  o.task = std::move(task);
  return o;
}

void check_cases(models::WhisperForConditionalGeneration& m, const std::vector<PinnedCase>& cases) {
  test::TempDir dir;
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json"}) {
    std::filesystem::copy_file(test::fixture(std::string("text/whisper-tiny/") + f), dir.file(f));
  }
  std::filesystem::copy_file(test::fixture("whisper/generation_config.json"),
                             dir.file("generation_config.json"));
  auto tok = text::load_tokenizer(dir.path().string());
  auto t = models::load_whisper_tokens(*tok, dir.path().string());
  torch::manual_seed(0);
  auto feats = torch::randn({1, 80, m->config().input_frames()});
  torch::NoGradGuard no_grad;
  auto enc = m->encode(feats);  // [1, 50, 32]
  for (const auto& c : cases) {
    auto r = models::decode_window(m, enc, t, *tok, c.opts);
    INFO(c.name);
    CHECK(r.tokens == c.tokens);
    CHECK(r.sum_logprob == Approx(c.sum_logprob).margin(1e-9));
    CHECK(r.avg_logprob == Approx(c.sum_logprob / static_cast<double>(c.tokens.size() + 1)).margin(1e-9));
    CHECK(r.no_speech_prob == Approx(c.no_speech_prob).margin(1e-12));
  }
}

}  // namespace

TEST_CASE("Whisper decoding pinned: greedy, beam search, sampling, prompts, timestamps", "[whisper]") {
  auto m = tiny_model(448);
  check_cases(m, {
                     {"greedy timestamps",
                      options(16, true),
                      {50403, 14161, 23560, 44533, 51489, 51705, 4800, 21147, 30964, 13207, 4800, 47766,
                       27380, 10447, 12029, 14041},
                      -42.393738925457001,
                      3.5335694370530746e-09},
                     {"greedy no timestamps",
                      options(16, false),
                      {641, 30917, 32345, 32837, 3053, 15305, 10447, 13052, 51731, 31994, 16099, 16212, 47300,
                       36676, 43308, 27679},
                      -51.005914807319641,
                      3.533559445045853e-09},
                     {"greedy prompt translate de",
                      with_prompt(options(10, true), {1000, 2000, 3000}, "de", "translate"),
                      {50376, 37003, 40931, 157, 16099, 25880, 31649, 3046, 3046, 26855},
                      -24.411133170127869,
                      5.1899458952675559e-08},
                     {"beam 3",
                      options(12, false, 0, 3),
                      {641, 1159, 26679, 20709, 1195, 1512, 10447, 13052, 20709, 11950, 50241, 6734},
                      -36.696282267570496,
                      3.5335609993580874e-09},
                     {"beam 2 patience 2 timestamps",
                      options(12, true, 0, 2, 1, 2.0),
                      {50403, 46360, 51453, 51453, 23560, 12500, 9605, 31292, 14423, 10447, 40486, 5222},
                      -29.01592643558979,
                      3.5335641079825564e-09},
                     {"beam 4 patience 0.5",
                      options(12, false, 0, 4, 1, 0.5),
                      {641, 1159, 26679, 6350, 44963, 27439, 9446, 26405, 2211, 11353, 47465, 39729},
                      -35.74797523021698,
                      3.5335612214026924e-09},
                     {"sample best_of 3",
                      options(12, true, 0.8, 0, 3, 1.0, 7),
                      {50403, 38157, 50466, 51366, 48381, 22613, 18858, 8016, 42287, 3106, 51489, 51600},
                      -56.652684599161148,
                      3.5335641079825564e-09},
                     {"sample t 1.5 best_of 2",
                      options(12, false, 1.5, 0, 2, 1.0, 3),
                      {12319, 19771, 38455, 12188, 17436, 5011, 19808, 2610, 34130, 18202, 48406, 50373},
                      -109.26699924468994,
                      3.5335609993580874e-09},
                 });
}

TEST_CASE("Whisper decoding pinned: the n_text_ctx limit ends the window", "[whisper]") {
  auto m = tiny_model(20);
  std::vector<int64_t> prompt = {100, 200, 300, 400, 500, 600, 700, 800, 900, 1000};
  check_cases(m, {
                     {"greedy at n_ctx",
                      with_prompt(options(12, false), prompt),
                      {5439, 27532, 38355, 29746, 47067},
                      -13.749383211135864,
                      1.4239734582588426e-06},
                     {"beam 2 at n_ctx",
                      with_prompt(options(12, true, 0, 2), prompt),
                      {50414, 3724, 51363, 51705, 9035, 25557},
                      -10.687903821468353,
                      1.4239734582588426e-06},
                 });
}

TEST_CASE("Whisper decoding pinned: rows and beams that end with EOT", "[whisper]") {
  auto m = tiny_model(448, 1.1);
  check_cases(
      m, {
             {"greedy timestamps",
              options(24, true),
              {50403, 14161, 23560, 44533, 51489, 51705, 4800, 21147, 30964, 13207, 4800, 47766, 27380},
              -35.133642733097076,
              3.167112794244531e-09},
             {"greedy no timestamps", options(24, false), {641}, -5.329088568687439, 3.1671065769955931e-09},
             {"beam 3",
              options(24, false, 0, 3),
              {641, 1159, 26679, 20709, 1195, 1512, 10447, 13052, 20709, 11950, 50241, 6734},
              -38.1068434715271,
              3.1671079092632226e-09},
             {"beam 5 patience 2 timestamps",
              options(24, true, 0, 5, 1, 2.0),
              {50403, 46360, 51453, 51453, 23560, 12500, 9605, 31292, 14423},
              -20.784140318632126,
              3.1671083533524325e-09},
             {"beam 4 patience 0.5",
              options(24, false, 0, 4, 1, 0.5),
              {641, 1159, 26679, 6350, 44963, 27439, 9446},
              -21.548545241355896,
              3.1671081313078275e-09},
             {"sample best_of 5",
              options(24, true, 0.8, 0, 5, 1.0, 7),
              {50405, 45999, 28799, 18858, 17895, 18015, 51489},
              -31.554592177271843,
              3.1671083533524325e-09},
             {"sample t 1 best_of 3",
              options(24, true, 1.0, 0, 3, 1.0, 11),
              {50412, 22487, 25707, 10578, 14423, 13962, 13008, 25577, 51084, 51453, 588, 51747, 51814, 31616,
               10197, 40335, 35763, 157},
              -112.12112119793892,
              3.1671079092632226e-09},
             {"sample t 1.2 best_of 4",
              options(24, false, 1.2, 0, 4, 1.0, 3),
              {4426,  24204, 21054, 36070, 7395,  50373, 14879, 31584, 34267, 12573, 23290, 35894,
               45956, 5480,  33088, 13359, 48718, 39236, 38458, 5739,  3247,  45682, 29491, 9415},
              -191.09179139137268,
              3.1671081313078275e-09},
         });
}
