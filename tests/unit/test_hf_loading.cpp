// from_pretrained rules on real upload layouts (issue 15): .bin folders predict/transcribe like the
// same weights in safetensors; key fix-ups (gamma/beta, position_ids, base-model prefix); pre-training
// heads dropped when fine-tuning; configs without model_type; cased vocabularies; T5 v1.0 folders.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/audio/mel.h"
#include "nlpc/core/error.h"
#include "nlpc/models/bert/classifier.h"
#include "nlpc/models/bert/config.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/hf_keys.h"
#include "nlpc/models/inspect.h"
#include "nlpc/models/registry.h"
#include "nlpc/models/t5/t5.h"
#include "nlpc/models/whisper/whisper.h"
#include "nlpc/text/tokenizer.h"

namespace m = nlpc::models;
namespace fs = std::filesystem;
using nlpc::test::fixture;
using nlpc::test::TempDir;

namespace {

torch::Tensor logits_of(const std::string& dir) {
  auto model = m::load_classifier(dir, c10::Device(c10::kCPU));
  model->eval();
  auto g = m::read_safetensors(fixture("models/tiny-bert/golden.safetensors"));
  torch::InferenceMode guard;
  return model->forward(g.at("input_ids"), g.at("attention_mask"), g.at("token_type_ids"));
}

double diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

// tiny-bert's folder with its weights rounded through `dtype` (the reference for fp16/bf16 files)
std::string rounded_folder(const TempDir& d, torch::Dtype dtype, const std::string& name) {
  fs::create_directories(d.file(name));
  m::StateDict w = m::read_safetensors(fixture("models/tiny-bert/model.safetensors"));
  for (auto& kv : w) kv.second = kv.second.to(dtype).to(torch::kFloat);
  m::save_safetensors(d.file(name + "/model.safetensors"), w);
  fs::copy_file(fixture("models/tiny-bert/config.json"), d.file(name + "/config.json"));
  return d.file(name);
}

m::ClassifierOptions two_labels() {
  m::ClassifierOptions o;
  o.labels = {"neg", "pos"};
  return o;
}

}  // namespace

TEST_CASE("BERT .bin folders predict within 1e-4 of the same weights in safetensors", "[hf-load]") {
  const auto golden = m::read_safetensors(fixture("models/tiny-bert/golden.safetensors")).at("logits");
  for (const char* dir : {"bin/bert-zip", "bin/bert-legacy-old-names", "bin/bert-sharded", "bin/bert-views"}) {
    INFO(dir);
    CHECK(diff(logits_of(fixture(dir)), golden) < 1e-4);
  }
  TempDir d;
  CHECK(diff(logits_of(fixture("bin/bert-fp16")), logits_of(rounded_folder(d, torch::kHalf, "half"))) < 1e-4);
  CHECK(diff(logits_of(fixture("bin/bert-bf16-legacy")), logits_of(rounded_folder(d, torch::kBFloat16, "bf16"))) < 1e-4);
  // fp16 kept in its dtype for an fp16 path
  auto half = m::load_classifier(fixture("bin/bert-fp16"), c10::Device(c10::kCPU), std::nullopt, torch::kHalf);
  CHECK(half->parameters()[0].scalar_type() == torch::kHalf);
}

TEST_CASE("fine-tuning from pre-training checkpoints: heads ignored, new head initialised", "[hf-load]") {
  const auto want = m::read_safetensors(fixture("models/tiny-bert/model.safetensors"));
  auto check_encoder = [&](m::SequenceClassifier& model) {
    const auto sd = m::module_state_dict(model);
    for (const auto& [k, t] : want) {
      if (k.rfind("bert.", 0) == 0) CHECK(torch::equal(sd.at(k), t));
    }
  };
  // BertForPreTraining (cls.predictions.* with the tied decoder, cls.seq_relationship.*)
  auto pt = m::load_classifier(fixture("bin/bert-pretraining"), c10::Device(c10::kCPU), two_labels());
  check_encoder(*pt);
  // TinyBERT: BertModel keys without "bert.", fit_dense head, config without model_type
  auto tb = m::load_classifier(fixture("bin/tinybert-general"), c10::Device(c10::kCPU), two_labels());
  check_encoder(*tb);
  CHECK(m::load_model_config(fixture("bin/tinybert-general")).model_type == "bert");
  // DistilBertForMaskedLM: vocab_* heads, position_ids buffer, model_type from architectures
  auto db = m::load_classifier(fixture("bin/distilbert-mlm"), c10::Device(c10::kCPU), two_labels());
  const auto dw = m::read_safetensors(fixture("models/tiny-distilbert/model.safetensors"));
  CHECK(torch::equal(m::module_state_dict(*db).at("distilbert.transformer.layer.1.ffn.lin2.weight"),
                     dw.at("distilbert.transformer.layer.1.ffn.lin2.weight")));
  // a classifier checkpoint with other labels: head initialised fresh, encoder loaded
  auto re = m::load_classifier(fixture("bin/bert-zip"), c10::Device(c10::kCPU), two_labels());
  check_encoder(*re);
  // anything else unexpected stays an error
  TempDir d;
  fs::create_directories(d.file("x"));
  auto w = m::load_checkpoint(fixture("bin/bert-pretraining"));
  w["mystery.weight"] = torch::zeros({2});
  m::save_safetensors(d.file("x/model.safetensors"), w);
  fs::copy_file(fixture("bin/bert-pretraining/config.json"), d.file("x/config.json"));
  CHECK_THROWS_WITH(m::load_classifier(d.file("x"), c10::Device(c10::kCPU), two_labels()),
                    Catch::Contains("unexpected keys (1): mystery.weight"));
  // and predicting (no options) from a folder without a head is an error naming what is missing
  CHECK_THROWS_WITH(m::load_classifier(fixture("bin/bert-pretraining"), c10::Device(c10::kCPU)),
                    Catch::Contains("id2label"));
}

TEST_CASE("base-model prefix added or removed both ways", "[hf-load]") {
  const auto cls = m::read_safetensors(fixture("models/tiny-bert/model.safetensors"));
  // BertForSequenceClassification checkpoint -> BertModel: "bert." removed, the head unexpected
  auto config = m::load_model_config(fixture("models/tiny-bert"));
  auto encoder = m::create_encoder(config);
  std::set<std::string> expected;
  for (const auto& kv : m::module_state_dict(*encoder)) expected.insert(kv.first);
  m::KeyReport r;
  auto adapted = m::adapt_hf_keys(cls, "bert", expected, &r);
  CHECK(r.prefix_change == "removed 'bert.'");
  auto report = m::load_state_dict_strict(*encoder, adapted, "tiny-bert", {"classifier."});
  CHECK(report.ignored == std::vector<std::string>{"classifier.bias", "classifier.weight"});
  // T5 saved under "transformer."
  m::StateDict t5w;
  for (auto& [k, t] : m::read_safetensors(fixture("t5/relu/model.safetensors"))) t5w["transformer." + k] = t;
  m::T5ForConditionalGeneration t5(m::load_t5_config(fixture("t5/relu")));
  t5->load_state(t5w, "t5-prefixed");
  CHECK(torch::equal(t5->shared->weight, t5w.at("transformer.shared.weight")));
}

TEST_CASE("Whisper: a WhisperModel .bin transcribes like the safetensors folder", "[hf-load]") {
  const std::string ref = fixture("whisper/tiny-random");
  const std::string dir = fixture("bin/whisper-base");
  m::WhisperForConditionalGeneration w(m::load_whisper_config(dir));
  w->load_state(m::load_checkpoint(dir), dir);
  w->eval();
  torch::NoGradGuard no_grad;
  auto expected = nlohmann::json::parse(nlpc::test::read_file(ref + "/expected.json"));
  auto enc = w->encode(nlpc::audio::read_npy(ref + "/features.npy"));
  CHECK(diff(enc, nlpc::audio::read_npy(ref + "/encoder_out.npy")) <= 1e-4);
  auto teacher = expected["teacher_tokens"].get<std::vector<int64_t>>();
  auto logits = w->decode(torch::tensor(teacher).unsqueeze(0), enc);
  CHECK(diff(logits, nlpc::audio::read_npy(ref + "/logits.npy")) <= 1e-4);
}

TEST_CASE("T5 v1.0 folder: spiece.model only, T5WithLMHeadModel, legacy .bin", "[hf-load]") {
  const std::string dir = fixture("bin/t5-v1.0");
  CHECK(m::read_model_config(dir)["model_type"] == "t5");
  auto tok = nlpc::text::load_tokenizer(dir);
  CHECK(tok->vocab_size() == 900);  // 800 pieces + transformers' 100 <extra_id_N>
  CHECK(tok->token_to_id("<extra_id_0>") == 899);
  CHECK(tok->token_to_id("<extra_id_99>") == 800);
  auto t5 = m::load_t5(dir);
  CHECK(t5->config().vocab_size == 900);
}

TEST_CASE("configs: model_type inferred; TinyBERT keys accepted; cased vocabularies", "[hf-load]") {
  using nlohmann::json;
  CHECK(m::infer_model_type(json{{"architectures", {"DistilBertForMaskedLM"}}}, "a/config.json") == "distilbert");
  CHECK(m::infer_model_type(json{{"architectures", {"BertForPreTraining"}}}, "a/config.json") == "bert");
  CHECK(m::infer_model_type(json{{"architectures", {"T5WithLMHeadModel"}}}, "a/config.json") == "t5");
  CHECK(m::infer_model_type(json::object(), "x/TinyBERT_General_4L_312D/config.json") == "bert");
  CHECK_THROWS_WITH(m::infer_model_type(json::object(), "x/mystery/config.json"), Catch::Contains("model_type"));
  TempDir d;
  const std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nHello\n";
  for (const char* name : {"bert-base-portuguese-cased", "bert-base-uncased-x"}) {
    fs::create_directories(d.file(name));
    nlpc::test::write_file(d.file(std::string(name) + "/vocab.txt"), vocab);
  }
  auto cased = nlpc::text::load_tokenizer(d.file("bert-base-portuguese-cased"));
  auto uncased = nlpc::text::load_tokenizer(d.file("bert-base-uncased-x"));
  CHECK(cased->encode("Hello").ids == std::vector<int32_t>{2, 6, 3});
  CHECK(uncased->encode("Hello").ids == std::vector<int32_t>{2, 5, 3});
  // added_tokens.json and special_tokens_map.json of slow-tokenizer uploads
  nlpc::test::write_file(d.file("bert-base-uncased-x/added_tokens.json"), R"({"[NEW]": 7})");
  nlpc::test::write_file(d.file("bert-base-uncased-x/special_tokens_map.json"), R"({"unk_token": "[UNK]", "additional_special_tokens": ["[NEW]"]})");
  auto added = nlpc::text::load_tokenizer(d.file("bert-base-uncased-x"));
  CHECK(added->vocab_size() == 8);
  CHECK(added->encode("hello [NEW]").ids == std::vector<int32_t>{2, 5, 7, 3});
  CHECK(added->is_special(7));
  nlpc::test::write_file(d.file("bert-base-portuguese-cased/tokenizer_config.json"), R"({"do_lower_case": true})");
  CHECK(nlpc::text::load_tokenizer(d.file("bert-base-portuguese-cased"))->encode("Hello").ids ==
        std::vector<int32_t>{2, 5, 3});
}

TEST_CASE("models inspect and convert", "[hf-load]") {
  auto r = m::inspect_folder(fixture("bin/bert-pretraining"));
  CHECK(r.model_type == "bert");
  CHECK(r.weights_format == "PyTorch zip");
  CHECK(r.tokenizer == "wordpiece");
  CHECK(r.vocab_size == 99);
  CHECK(r.missing.empty());
  CHECK(r.unexpected.empty());
  CHECK(std::find(r.ignored.begin(), r.ignored.end(), "cls.predictions.decoder.weight") != r.ignored.end());
  CHECK(std::find(r.initialised.begin(), r.initialised.end(), "classifier.weight") != r.initialised.end());
  auto old = m::inspect_folder(fixture("bin/bert-legacy-old-names"));
  CHECK(old.keys.renamed == 10);
  CHECK(old.initialised.empty());
  auto tb = m::inspect_folder(fixture("bin/tinybert-general"));
  CHECK(tb.keys.prefix_change == "added 'bert.'");
  CHECK_FALSE(tb.model_type_source.empty());
  TempDir d;
  auto c = m::convert_folder(fixture("bin/bert-legacy-old-names"), d.file("out"));
  CHECK(c.tensors == 41);
  const auto golden = m::read_safetensors(fixture("models/tiny-bert/golden.safetensors")).at("logits");
  CHECK(diff(logits_of(d.file("out")), golden) < 1e-4);
  auto st = m::read_safetensors(d.file("out/model.safetensors"));
  CHECK(st.count("bert.embeddings.LayerNorm.weight"));
  auto kept = m::convert_folder(fixture("bin/bert-fp16"), d.file("half"));
  CHECK(m::read_safetensors(d.file("half/model.safetensors"), m::kKeepDtype).at("classifier.weight").scalar_type() ==
        torch::kHalf);
  CHECK_THROWS_AS(m::convert_folder(fixture("bin/bert-zip"), fixture("bin/bert-zip")), nlpc::UsageError);
}
