// Whisper model golden tests against scripts/ref/whisper_ref.py (plain-torch reimplementation of
// transformers' modeling_whisper.py). The fixture is a random-initialised small model
// (tests/fixtures/whisper/tiny-random); the hidden test [.whisper_tiny] runs the same checks on a
// whisper-tiny-sized model made by `whisper_ref.py tiny DIR` (NLPC_WHISPER_TINY_DIR=DIR).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/audio/mel.h"
#include "nlpc/core/error.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/whisper/whisper.h"

// libtorch pulls in glog, whose CHECK(cond) aborts and replaces Catch's CHECK; restore Catch's.
#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using namespace nlpc;
using nlpc::models::WhisperForConditionalGeneration;

namespace {

WhisperForConditionalGeneration load_dir(const std::string& dir) {
  auto cfg = models::load_whisper_config(dir);
  WhisperForConditionalGeneration m(cfg);
  m->load_state(models::load_checkpoint(dir), dir + "/model.safetensors");
  m->eval();
  return m;
}

// Greedy decoding with the incremental K/V cache, plain argmax.
std::vector<int64_t> greedy(WhisperForConditionalGeneration& m, const torch::Tensor& enc,
                            const std::vector<int64_t>& prefix, int steps) {
  auto cache = m->make_cache();
  auto logits = m->decode(torch::tensor(prefix).unsqueeze(0), enc, &cache);
  std::vector<int64_t> out;
  for (int i = 0; i < steps; ++i) {
    int64_t next = logits[0][-1].argmax().item<int64_t>();
    out.push_back(next);
    logits = m->decode(torch::tensor({next}).unsqueeze(0), enc, &cache);
  }
  return out;
}

void check_golden(const std::string& dir, bool report) {
  torch::NoGradGuard no_grad;
  auto m = load_dir(dir);
  auto expected = nlohmann::json::parse(test::read_file(dir + "/expected.json"));
  auto feats = audio::read_npy(dir + "/features.npy");
  auto t0 = std::chrono::steady_clock::now();
  auto enc = m->encode(feats);
  double enc_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto enc_ref = audio::read_npy(dir + "/encoder_out.npy");
  REQUIRE(enc.sizes() == enc_ref.sizes());
  double enc_diff = (enc - enc_ref).abs().max().item<double>();
  auto teacher = expected["teacher_tokens"].get<std::vector<int64_t>>();
  auto logits = m->decode(torch::tensor(teacher).unsqueeze(0), enc);
  auto logits_ref = audio::read_npy(dir + "/logits.npy");
  REQUIRE(logits.sizes() == logits_ref.sizes());
  double logit_diff = (logits - logits_ref).abs().max().item<double>();
  // the incremental path (one token at a time through the caches) gives the same logits
  auto cache = m->make_cache();
  std::vector<torch::Tensor> steps;
  for (auto t : teacher) steps.push_back(m->decode(torch::tensor({t}).unsqueeze(0), enc, &cache));
  double cache_diff = (torch::cat(steps, 1) - logits).abs().max().item<double>();
  auto want = expected["greedy_tokens"].get<std::vector<int64_t>>();
  t0 = std::chrono::steady_clock::now();
  auto got = greedy(m, enc, expected["prefix"].get<std::vector<int64_t>>(), static_cast<int>(want.size()));
  double dec_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (report) {
    std::printf("encoder max abs diff %.3g, logits max abs diff %.3g, cached-vs-full %.3g; greedy %s\n"
                "nlpc encoder %.3fs (python %.3fs); nlpc greedy with cache %zu tokens %.3fs (python, no cache, %.3fs)\n",
                enc_diff, logit_diff, cache_diff, got == want ? "identical" : "DIFFERENT", enc_s,
                expected["python_encoder_s"].get<double>(), got.size(), dec_s,
                expected["python_greedy_s_no_cache"].get<double>());
  }
  CHECK(enc_diff <= 1e-4);
  CHECK(logit_diff <= 1e-4);
  CHECK(cache_diff <= 1e-4);
  CHECK(got == want);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Whisper encoder, decoder logits and greedy tokens match the Python reference", "[whisper]") {
  check_golden(test::fixture("whisper/tiny-random"), false);
}

TEST_CASE("whisper-tiny-sized golden comparison (NLPC_WHISPER_TINY_DIR)", "[.whisper_tiny]") {
  const char* dir = std::getenv("NLPC_WHISPER_TINY_DIR");
  if (!dir) FAIL("set NLPC_WHISPER_TINY_DIR to the output of scripts/ref/whisper_ref.py tiny DIR");
  check_golden(dir, true);
}

TEST_CASE("Whisper parameter names are Hugging Face's and loading is strict", "[whisper]") {
  const std::string dir = test::fixture("whisper/tiny-random");
  auto cfg = models::load_whisper_config(dir);
  WhisperForConditionalGeneration m(cfg);
  auto own = m->state();
  CHECK(own.count("model.encoder.layers.1.self_attn.k_proj.weight") == 1);
  CHECK(own.count("model.encoder.layers.1.self_attn.k_proj.bias") == 0);
  CHECK(own.count("model.decoder.layers.0.encoder_attn.v_proj.bias") == 1);
  CHECK(own.count("proj_out.weight") == 0);
  auto w = models::load_checkpoint(dir);
  CHECK(w.size() == own.size());
  auto bad = w;
  bad.erase("model.decoder.layer_norm.bias");
  bad["model.encoder.conv1.weight"] = torch::zeros({64, 80, 5});
  bad["model.encoder.extra.weight"] = torch::zeros({2});
  std::string msg = error_of([&] { m->load_state(bad, "bad.safetensors"); });
  CHECK_THAT(msg, Catch::Contains("bad.safetensors") && Catch::Contains("nothing was loaded") &&
                      Catch::Contains("model.decoder.layer_norm.bias [64]") &&
                      Catch::Contains("model.encoder.conv1.weight: expected [64, 80, 3], got [64, 80, 5]") &&
                      Catch::Contains("model.encoder.extra.weight"));
  // a tied proj_out.weight is accepted
  auto tied = w;
  tied["proj_out.weight"] = w.at("model.decoder.embed_tokens.weight");
  CHECK_NOTHROW(m->load_state(tied, "tied"));
  tied["proj_out.weight"] = torch::zeros({3, 64});
  CHECK_THAT(error_of([&] { m->load_state(tied, "tied"); }), Catch::Contains("proj_out.weight: expected [256, 64]"));
}

TEST_CASE("Whisper config parsing and random initialisation", "[whisper]") {
  auto j = nlohmann::json::parse(R"({"model_type": "whisper", "d_model": 32, "encoder_attention_heads": 4,
    "decoder_attention_heads": 4, "encoder_layers": 1, "decoder_layers": 1, "encoder_ffn_dim": 16,
    "decoder_ffn_dim": 16, "vocab_size": 60, "max_source_positions": 10, "max_target_positions": 8,
    "pad_token_id": 59, "custom": 1})");
  auto c = models::parse_whisper_config(j, "config.json");
  CHECK(c.d_model == 32);
  CHECK(c.num_mel_bins == 80);
  CHECK(c.input_frames() == 20);
  CHECK(models::whisper_config_to_json(c)["custom"] == 1);
  WhisperForConditionalGeneration m(c);
  m->init_weights(7);
  auto pos = m->model->encoder->embed_positions->weight;
  CHECK((pos - models::whisper_sinusoids(10, 32)).abs().max().item<double>() == 0.0);
  CHECK(pos[3][0].item<float>() == Approx(std::sin(3.0f)));
  CHECK(pos[3][16].item<float>() == Approx(std::cos(3.0f)));
  CHECK(m->model->decoder->embed_tokens->weight[59].abs().sum().item<double>() == 0.0);
  WhisperForConditionalGeneration m2(c);
  m2->init_weights(7);
  CHECK(torch::equal(m->model->decoder->layers[0]->as<models::WhisperDecoderLayer>()->fc1->weight,
                     m2->model->decoder->layers[0]->as<models::WhisperDecoderLayer>()->fc1->weight));
  j["activation_function"] = "relu";
  CHECK_THAT(error_of([&] { models::parse_whisper_config(j, "cfg.json"); }),
             Catch::Contains("cfg.json") && Catch::Contains("relu"));
  j["model_type"] = "bert";
  CHECK_THROWS_AS(models::parse_whisper_config(j, "cfg.json"), InputError);
  torch::NoGradGuard ng;
  CHECK_THAT(error_of([&] { m->encode(torch::zeros({1, 80, 30})); }), Catch::Contains("[batch, 80, 20]"));
}
