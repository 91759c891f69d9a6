// T5 model and generation against the plain-torch reference (scripts/ref/t5_ref.py) fixtures.
#include <catch2/catch.hpp>

#include <fstream>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/generation/hf_generate.h"
#include "nlpc/models/t5/t5.h"
#include "../test_util.h"

// libtorch pulls in glog, whose CHECK(cond) aborts and replaces Catch's CHECK; restore Catch's.
#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using namespace nlpc::models;
using nlpc::test::fixture;

namespace {

nlohmann::json golden(const std::string& name) {
  return nlohmann::json::parse(nlpc::read_file(fixture("t5/" + name + "/golden.json")));
}

torch::Tensor long_tensor(const nlohmann::json& rows) {
  std::vector<int64_t> flat;
  for (const auto& r : rows)
    for (const auto& v : r) flat.push_back(v.get<int64_t>());
  return torch::tensor(flat, torch::kLong).view({static_cast<int64_t>(rows.size()), -1});
}

torch::Tensor float_tensor(const nlohmann::json& values, const nlohmann::json& shape) {
  std::vector<float> flat;
  for (const auto& v : values) flat.push_back(v.get<float>());
  return torch::tensor(flat).view(shape.get<std::vector<int64_t>>());
}

T5ForConditionalGeneration load_fixture(const std::string& name) {
  auto m = load_t5(fixture("t5/" + name));
  m->eval();
  return m;
}

GenerationOptions options_from(const nlohmann::json& j) {
  GenerationOptions o;
  apply_generation_config(o, j, "golden.json");
  if (j.contains("seed")) o.seed = j["seed"].get<uint64_t>();
  return o;
}

}  // namespace

TEST_CASE("T5 config: HF defaults and feed_forward_proj", "[t5]") {
  auto c = parse_t5_config(nlohmann::json::object(), "config.json");
  CHECK(c.d_model == 512);
  CHECK(c.num_decoder_layers == 6);
  CHECK(c.dense_act_fn() == "relu");
  CHECK_FALSE(c.is_gated_act());
  CHECK_FALSE(c.decoder_start_token_id.has_value());
  auto g = parse_t5_config({{"feed_forward_proj", "gated-gelu"}, {"num_layers", 8}, {"num_decoder_layers", nullptr}},
                           "config.json");
  CHECK(g.dense_act_fn() == "gelu_new");
  CHECK(g.is_gated_act());
  CHECK(g.num_decoder_layers == 8);
  CHECK(parse_t5_config({{"feed_forward_proj", "gated-silu"}}, "c").dense_act_fn() == "silu");
  CHECK_THROWS_AS(parse_t5_config({{"feed_forward_proj", "fancy-relu"}}, "c"), nlpc::InputError);
  CHECK_THROWS_AS(parse_t5_config({{"feed_forward_proj", "gated-gelu-x"}}, "c"), nlpc::InputError);
  CHECK_THROWS_AS(parse_t5_config({{"d_model", "512"}}, "c"), nlpc::InputError);
  auto j = t5_config_to_json(g);
  CHECK(j["feed_forward_proj"] == "gated-gelu");
  CHECK(parse_t5_config(j, "c").num_layers == 8);
}

TEST_CASE("T5 relative position buckets", "[t5]") {
  auto rp = torch::tensor({0, -1, 1, -7, -8, -9, 15, 16, 100, 200, -200}, torch::kLong);
  // bidirectional, 32 buckets, max distance 128 (t5-small encoder): 16 per direction, 8 exact
  auto bi = t5_relative_position_bucket(rp, true, 32, 128);
  std::vector<int64_t> bi_expected = {0, 1, 17, 7, 8, 8, 25, 26, 31, 31, 15};  // 15: 8 + floor(log(15/8) / log(16) * 8) = 9
  CHECK(std::vector<int64_t>(bi.data_ptr<int64_t>(), bi.data_ptr<int64_t>() + bi.numel()) == bi_expected);
  // causal (decoder): future positions map to 0, 16 exact buckets
  auto causal = t5_relative_position_bucket(rp, false, 32, 128);
  std::vector<int64_t> causal_expected = {0, 1, 0, 7, 8, 9, 0, 0, 0, 0, 31};
  CHECK(std::vector<int64_t>(causal.data_ptr<int64_t>(), causal.data_ptr<int64_t>() + causal.numel()) ==
        causal_expected);
}

TEST_CASE("T5 golden: encoder states, teacher-forced logits and loss (padded batch)", "[t5]") {
  for (const std::string name : {"relu", "gated-gelu"}) {
    INFO(name);
    auto g = golden(name);
    auto m = load_fixture(name);
    torch::NoGradGuard ng;
    auto ids = long_tensor(g["input_ids"]);
    auto mask = long_tensor(g["attention_mask"]);
    auto labels = long_tensor(g["labels"]);
    CHECK(torch::equal(m->shift_right(labels), long_tensor(g["decoder_input_ids"])));
    auto out = m->forward(ids, mask, labels);
    auto enc_expected = float_tensor(g["encoder_hidden"], g["encoder_shape"]);
    auto logits_expected = float_tensor(g["logits"], g["logits_shape"]);
    CHECK((out.encoder_last_hidden_state - enc_expected).abs().max().item<float>() < 1e-4);
    CHECK((out.logits - logits_expected).abs().max().item<float>() < 1e-4);
    CHECK(out.loss.item<double>() == Approx(g["loss"].get<double>()).margin(1e-5));
  }
}

TEST_CASE("T5 golden: greedy, beam search and sampling token for token, with and without cache", "[t5]") {
  for (const std::string name : {"relu", "gated-gelu"}) {
    auto g = golden(name);
    auto m = load_fixture(name);
    auto ids = long_tensor(g["input_ids"]);
    auto mask = long_tensor(g["attention_mask"]);
    for (const auto& c : g["generate"]) {
      INFO(name << " " << c["name"].get<std::string>());
      auto o = options_from(c["options"]);
      auto expected = long_tensor(c["sequences"]);
      for (bool cache : {true, false}) {
        o.use_cache = cache;
        auto got = generate(*m, ids, mask, o);
        INFO("cache " << cache << "\n" << got);
        CHECK(torch::equal(got, expected));
      }
    }
  }
}

TEST_CASE("T5 generation: one row alone equals its row in a padded batch", "[t5]") {
  auto g = golden("gated-gelu");
  auto m = load_fixture("gated-gelu");
  auto ids = long_tensor(g["input_ids"]);
  auto mask = long_tensor(g["attention_mask"]);
  GenerationOptions o;
  o.num_beams = 3;
  o.max_new_tokens = 8;
  auto batch = generate(*m, ids, mask, o);
  const int64_t len = mask[2].sum().item<int64_t>();
  auto single = generate(*m, ids.slice(0, 2, 3).slice(1, 0, len), mask.slice(0, 2, 3).slice(1, 0, len), o);
  CHECK(torch::equal(single[0], batch[2].slice(0, 0, single.size(1))));
}

TEST_CASE("T5 strict loading: aliases, missing keys, shapes", "[t5]") {
  auto weights = load_checkpoint(fixture("t5/relu"));
  REQUIRE(weights.count("encoder.embed_tokens.weight"));  // the fixture stores the tied aliases
  T5ForConditionalGeneration m(load_t5_config(fixture("t5/relu")));
  m->load_state(weights, "w");

  auto bad = weights;
  bad["decoder.embed_tokens.weight"] = bad["shared.weight"] + 1;
  CHECK_THROWS_WITH(m->load_state(bad, "w"), Catch::Contains("decoder.embed_tokens.weight differs from shared.weight"));

  auto missing = weights;
  missing.erase("decoder.block.1.layer.2.DenseReluDense.wo.weight");
  missing["decoder.block.9.layer.0.SelfAttention.q.weight"] = torch::zeros({2, 2});
  try {
    m->load_state(missing, "w");
    FAIL("expected an InputError");
  } catch (const nlpc::InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("decoder.block.1.layer.2.DenseReluDense.wo.weight"));
    CHECK_THAT(e.what(), Catch::Contains("decoder.block.9.layer.0.SelfAttention.q.weight"));
  }
  auto shape = weights;
  shape["encoder.final_layer_norm.weight"] = torch::ones({31});
  CHECK_THROWS_WITH(m->load_state(shape, "w"), Catch::Contains("encoder.final_layer_norm.weight: expected [32], got [31]"));

  // old checkpoints' unused cross-attention bias is ignored, as in HF
  auto old = weights;
  old["decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"] = torch::zeros({8, 4});
  m->load_state(old, "w");

  // only the alias present: it stands in for shared.weight
  auto alias_only = weights;
  alias_only.erase("shared.weight");
  alias_only.erase("decoder.embed_tokens.weight");
  m->load_state(alias_only, "w");
  CHECK(torch::equal(m->shared->weight, weights["shared.weight"]));

  // untied models need lm_head.weight
  auto gw = load_checkpoint(fixture("t5/gated-gelu"));
  T5ForConditionalGeneration gm(load_t5_config(fixture("t5/gated-gelu")));
  gw.erase("lm_head.weight");
  CHECK_THROWS_WITH(gm->load_state(gw, "w"), Catch::Contains("lm_head.weight"));
}

TEST_CASE("T5 save and reload: HF key names round trip", "[t5]") {
  auto m = load_fixture("relu");
  auto sd = m->hf_state_dict();
  CHECK(sd.count("lm_head.weight"));
  CHECK(sd.count("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
  CHECK_FALSE(sd.count("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"));
  CHECK(sd.count("decoder.block.2.layer.1.EncDecAttention.k.weight"));
  nlpc::test::TempDir tmp;
  save_t5(*m, tmp.file("saved"));
  auto m2 = load_t5(tmp.file("saved"));
  CHECK(m2->config().eos_token_id == 26);
  CHECK(m2->config().decoder_start_token_id == 0);
  for (const auto& [k, v] : m->hf_state_dict()) CHECK(torch::equal(v, m2->hf_state_dict().at(k)));
}

TEST_CASE("T5 training step: loss decreases, dropout active in train mode", "[t5]") {
  torch::manual_seed(0);
  auto g = golden("gated-gelu");
  auto m = load_fixture("gated-gelu");
  auto ids = long_tensor(g["input_ids"]);
  auto mask = long_tensor(g["attention_mask"]);
  auto labels = long_tensor(g["labels"]);
  m->train();
  auto a = m->forward(ids, mask, labels).logits;
  auto b = m->forward(ids, mask, labels).logits;
  CHECK_FALSE(torch::allclose(a, b));  // dropout 0.1
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(1e-2));
  m->eval();
  const double before = m->forward(ids, mask, labels).loss.item<double>();
  for (int i = 0; i < 5; ++i) {
    opt.zero_grad();
    auto loss = m->forward(ids, mask, labels).loss;
    loss.backward();
    opt.step();
  }
  CHECK(m->forward(ids, mask, labels).loss.item<double>() < before);
}

TEST_CASE("T5 init weights and generation options", "[t5]") {
  T5Config c;
  c.vocab_size = 40, c.d_model = 16, c.d_kv = 4, c.d_ff = 32, c.num_layers = 1, c.num_decoder_layers = 1;
  c.num_heads = 2, c.decoder_start_token_id = 0;
  T5ForConditionalGeneration m(c);
  torch::manual_seed(3);
  t5_init_weights(*m);
  CHECK(m->encoder->final_layer_norm->weight.eq(1.0).all().item<bool>());
  CHECK(m->shared->weight.std().item<double>() == Approx(1.0).margin(0.1));

  GenerationOptions o;
  apply_generation_config(o, {{"num_beams", 4}, {"early_stopping", "never"}, {"eos_token_id", {5, 6}},
                              {"max_new_tokens", nullptr}, {"decoder_start_token_id", 0}},
                          "generation_config.json");
  CHECK(o.num_beams == 4);
  CHECK(o.early_stopping == EarlyStopping::kNever);
  CHECK(o.eos_token_id == 5);
  CHECK(o.length_limit() == 20);
  o.max_new_tokens = 7;
  CHECK(o.length_limit() == 8);
  CHECK_THROWS_AS(apply_generation_config(o, {{"num_beams", "4"}}, "g.json"), nlpc::InputError);
  o.do_sample = true;
  CHECK_THROWS_AS(o.validate(), nlpc::UsageError);
  o.num_beams = 1;
  o.top_p = 0.0;
  CHECK_THROWS_AS(o.validate(), nlpc::UsageError);
}

TEST_CASE("T5 generation from a model in training mode: eval for the call, training restored", "[t5]") {
  auto g = golden("relu");
  auto m = load_fixture("relu");
  auto ids = long_tensor(g["input_ids"]);
  auto mask = long_tensor(g["attention_mask"]);
  const auto& c = g["generate"][0];
  m->train();
  auto got = generate(*m, ids, mask, options_from(c["options"]));
  CHECK(torch::equal(got, long_tensor(c["sequences"])));
  CHECK(m->is_training());
}

TEST_CASE("T5 generation options from a model folder's generation_config.json", "[t5]") {
  nlpc::test::TempDir tmp;
  CHECK(load_generation_options(tmp.path().string()).num_beams == 1);  // absent: HF defaults
  nlpc::test::write_file(tmp.file("generation_config.json"),
                         R"({"decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0, "max_length": 7,
                             "num_beams": 2, "length_penalty": 0.8, "no_repeat_ngram_size": 3,
                             "early_stopping": true, "transformers_version": "4.33.0"})");
  auto o = load_generation_options(tmp.path().string());
  CHECK(o.num_beams == 2);
  CHECK(o.length_penalty == 0.8);
  CHECK(o.early_stopping == EarlyStopping::kTrue);
  CHECK(o.eos_token_id == 1);
  CHECK(o.length_limit() == 7);
  // max_length bounds the output (start token included) when max_new_tokens is unset
  auto g = golden("gated-gelu");
  auto m = load_fixture("gated-gelu");
  o.eos_token_id.reset();  // the fixture's eos (8) from config.json
  auto out = generate(*m, long_tensor(g["input_ids"]), long_tensor(g["attention_mask"]), o);
  CHECK(out.size(1) <= 7);
  nlpc::test::write_file(tmp.file("generation_config.json"), R"({"num_beams": "two"})");
  CHECK_THROWS_AS(load_generation_options(tmp.path().string()), nlpc::InputError);
}
