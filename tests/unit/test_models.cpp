// Model layer: golden outputs from scripts/ref/bert_ref.py (independent plain-PyTorch reference),
// strict loading, configs, heads, saving.
// torch before Catch2: glog (pulled in by torch) defines CHECK too; included first, Catch's wins.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/bert/classifier.h"
#include "nlpc/models/bert/config.h"
#include "nlpc/models/layers/layers.h"

namespace m = nlpc::models;
using nlpc::test::fixture;
using nlpc::test::TempDir;

namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

// Max difference over the non-padded positions of [batch, seq, hidden] tensors.
double masked_diff(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask) {
  REQUIRE(a.sizes() == b.sizes());
  return ((a - b).abs() * mask.unsqueeze(-1).to(a.scalar_type())).max().item<double>();
}

void check_golden(const std::string& name) {
  auto model = m::load_classifier(fixture("models/" + name), c10::Device(c10::kCPU));
  model->eval();
  auto g = m::read_safetensors(fixture("models/" + name + "/golden.safetensors"));
  torch::InferenceMode guard;
  const auto& ids = g.at("input_ids");
  const auto& mask = g.at("attention_mask");
  const auto& types = g.at("token_type_ids");
  auto out = model->forward_full(ids, mask, types, true);
  CHECK(max_diff(out.logits, g.at("logits")) < 1e-4);
  REQUIRE(out.hidden_states.size() == static_cast<size_t>(model->config().num_layers() + 1));
  for (size_t i = 0; i < out.hidden_states.size(); ++i) {
    INFO("hidden state " << i);
    CHECK(masked_diff(out.hidden_states[i], g.at("hidden_states." + std::to_string(i)), mask) < 1e-4);
  }
  const std::string last = std::to_string(out.hidden_states.size() - 1);
  for (int64_t j = 0; j < ids.size(0); ++j) {
    INFO("input " << j << " alone");
    const int64_t n = mask[j].sum().item<int64_t>();
    auto sl = [&](const torch::Tensor& t) { return t.narrow(0, j, 1).narrow(1, 0, n); };
    auto one = model->forward_full(sl(ids), sl(mask), sl(types), true);
    const std::string key = "single." + std::to_string(j);
    CHECK(max_diff(one.logits, g.at(key + ".logits")) < 1e-4);
    CHECK(max_diff(one.hidden_states.back(), g.at(key + ".hidden_states." + last)) < 1e-4);
    // without an attention mask (all tokens) the unpadded input gives the same logits
    CHECK(max_diff(model->forward(sl(ids), {}, sl(types)), g.at(key + ".logits")) < 1e-4);
  }
  // The multi-threaded inference fast path (row-parallel GEMMs, per-(batch, head) attention; used
  // for 64+ token rows with 2+ threads) on the golden batch repeated to 128+ rows.
  const int prev_threads = at::get_num_threads();
  at::set_num_threads(2);
  const int64_t reps = 128 / (ids.size(0) * ids.size(1)) + 1;
  auto big = model->forward_full(ids.repeat({reps, 1}), mask.repeat({reps, 1}), types.repeat({reps, 1}), true);
  at::set_num_threads(prev_threads);
  CHECK(max_diff(big.logits, g.at("logits").repeat({reps, 1})) < 1e-4);
  CHECK(masked_diff(big.hidden_states.back(), g.at("hidden_states." + last).repeat({reps, 1, 1}),
                    mask.repeat({reps, 1})) < 1e-4);
}

m::ModelConfig tiny_bert_config() {
  return m::parse_model_config(nlohmann::json{{"model_type", "bert"},
                                              {"vocab_size", 50},
                                              {"hidden_size", 16},
                                              {"num_hidden_layers", 2},
                                              {"num_attention_heads", 2},
                                              {"intermediate_size", 24},
                                              {"max_position_embeddings", 32}},
                               "tiny.json");
}

}  // namespace

TEST_CASE("BERT classifier matches the Python reference", "[models]") { check_golden("tiny-bert"); }

TEST_CASE("DistilBERT classifier matches the Python reference", "[models]") { check_golden("tiny-distilbert"); }

TEST_CASE("folders saved by nlpc agree with the Python reference", "[models]") {
  // Fixtures written by the hidden test "[generate-nlpc-fixtures]", checked by
  // `scripts/ref/bert_ref.py check-nlpc`, which wrote python_logits.safetensors.
  for (const char* name : {"nlpc-bert-hf", "nlpc-distilbert-mlp"}) {
    INFO(name);
    const std::string dir = fixture(std::string("models/") + name);
    auto model = m::load_classifier(dir, c10::Device(c10::kCPU));
    model->eval();
    auto in = m::read_safetensors(dir + "/nlpc_outputs.safetensors");
    auto py = m::read_safetensors(dir + "/python_logits.safetensors");
    torch::InferenceMode guard;
    auto logits = model->forward(in.at("input_ids"), in.at("attention_mask"), in.at("token_type_ids"));
    CHECK(max_diff(logits, py.at("logits")) < 1e-4);
    CHECK(max_diff(logits, in.at("logits")) < 1e-6);
  }
}

TEST_CASE("write the folders saved by nlpc (fixtures)", "[.][generate-nlpc-fixtures]") {
  struct Spec {
    const char* name;
    const char* config;
    m::ClassifierOptions opt;
  };
  m::ClassifierOptions hf;
  hf.labels = {"x", "y", "z"};
  m::ClassifierOptions mlp;
  mlp.labels = {"l0", "l1", "l2", "l3"};
  mlp.problem_type = m::ProblemType::kMultiLabel;
  mlp.head.kind = "mlp";
  mlp.head.hidden_sizes = {30, 7};
  mlp.head.pooling = "mean";
  mlp.head.activation = "gelu";
  for (const Spec& s : {Spec{"nlpc-bert-hf", "models/tiny-bert", hf}, Spec{"nlpc-distilbert-mlp", "models/tiny-distilbert", mlp}}) {
    torch::manual_seed(7);
    auto cfg = m::load_model_config(fixture(s.config));
    auto model = m::create_classifier(cfg, s.opt);
    {
      // larger weights than HF's init so that the comparison is not dominated by ~0 logits
      torch::NoGradGuard ng;
      for (auto& p : model->parameters()) p.normal_(0.0, 0.2);
    }
    model->eval();
    const std::string dir = fixture(std::string("models/") + s.name);
    m::save_classifier(*model, dir);
    auto g = m::read_safetensors(fixture(std::string(s.config) + "/golden.safetensors"));
    torch::InferenceMode guard;
    m::StateDict out{{"input_ids", g.at("input_ids")}, {"attention_mask", g.at("attention_mask")},
                     {"token_type_ids", g.at("token_type_ids")}};
    out["logits"] = model->forward(g.at("input_ids"), g.at("attention_mask"), g.at("token_type_ids"));
    m::save_safetensors(dir + "/nlpc_outputs.safetensors", out);
  }
}

TEST_CASE("strict loading reports every problem by name, with both shapes", "[models]") {
  torch::nn::Sequential net(torch::nn::Linear(3, 2), torch::nn::Linear(2, 1));
  m::StateDict w = m::module_state_dict(*net);
  m::StateDict bad = w;
  bad.erase("0.bias");
  bad["1.weight"] = torch::zeros({1, 5});
  bad["extra.weight"] = torch::zeros({1});
  const auto before = net[0]->as<torch::nn::Linear>()->weight.clone();
  try {
    m::load_state_dict_strict(*net, bad, "ckpt.safetensors");
    FAIL("expected an error");
  } catch (const nlpc::InputError& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("ckpt.safetensors"));
    CHECK_THAT(msg, Catch::Contains("missing keys (1):\n    0.bias [2]"));
    CHECK_THAT(msg, Catch::Contains("unexpected keys (1):\n    extra.weight"));
    CHECK_THAT(msg, Catch::Contains("1.weight: expected [1, 2], got [1, 5]"));
    CHECK_THAT(msg, Catch::Contains("nothing was loaded"));
  }
  // never partial: the first layer's weight was not touched
  CHECK(torch::equal(net[0]->as<torch::nn::Linear>()->weight, before));
  auto report = m::load_state_dict_strict(*net, [&] { auto x = w; x["cls.foo"] = torch::zeros({1}); return x; }(),
                                          "ok", {"cls."});
  CHECK(report.ignored == std::vector<std::string>{"cls.foo"});
}

TEST_CASE("config.json: HF defaults, validation, unknown model types", "[models]") {
  auto c = m::parse_model_config(nlohmann::json{{"model_type", "bert"}}, "c.json");
  CHECK(c.bert.hidden_size == 768);
  CHECK(c.bert.num_hidden_layers == 12);
  CHECK(c.bert.intermediate_size == 3072);
  CHECK(c.bert.hidden_act == "gelu");
  CHECK(c.bert.layer_norm_eps == 1e-12);
  CHECK(c.bert.type_vocab_size == 2);
  CHECK_FALSE(c.bert.classifier_dropout.has_value());
  auto d = m::parse_model_config(nlohmann::json{{"model_type", "distilbert"}, {"n_layers", 3}}, "d.json");
  CHECK(d.distilbert.n_layers == 3);
  CHECK(d.distilbert.dim == 768);
  CHECK(d.distilbert.seq_classif_dropout == 0.2);
  CHECK_THROWS_WITH(m::parse_model_config(nlohmann::json{{"model_type", "gpt2"}}, "g.json"),
                    Catch::Contains("unsupported model_type 'gpt2' (supported: bert, distilbert)"));
  CHECK_THROWS_WITH(m::parse_model_config(nlohmann::json{{"model_type", "bert"}, {"hidden_size", "big"}}, "b.json"),
                    Catch::Contains("\"hidden_size\" must be an integer, got \"big\""));
  CHECK_THROWS_WITH(m::parse_model_config(nlohmann::json{{"model_type", "bert"}, {"num_attention_heads", 5}}, "b.json"),
                    Catch::Contains("not a multiple of num_attention_heads 5"));
  CHECK_THROWS_WITH(m::parse_model_config(nlohmann::json{{"model_type", "bert"}, {"id2label", {{"1", "a"}}}}, "b.json"),
                    Catch::Contains("id2label"));
  auto j = m::model_config_to_json(m::load_model_config(fixture("models/tiny-bert")));
  CHECK(j["label2id"]["pos"] == 2);
  CHECK(j["id2label"]["0"] == "neg");
}

TEST_CASE("activations follow transformers' ACT2FN", "[models]") {
  auto x = torch::linspace(-3, 3, 13);
  CHECK(max_diff(m::make_activation("gelu", "c")(x), 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0)))) < 1e-6);
  auto tanh_gelu = 0.5 * x * (1 + torch::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  CHECK(max_diff(m::make_activation("gelu_new", "c")(x), tanh_gelu) < 1e-6);
  CHECK(max_diff(m::make_activation("gelu_pytorch_tanh", "c")(x), tanh_gelu) < 1e-5);
  CHECK(max_diff(m::make_activation("swish", "c")(x), x * torch::sigmoid(x)) < 1e-6);
  CHECK(max_diff(m::make_activation("relu", "c")(x), x.clamp_min(0)) == 0);
  CHECK_THROWS_WITH(m::make_activation("gelu_fancy", "config.json"),
                    Catch::Contains("unsupported activation 'gelu_fancy'") && Catch::Contains("gelu_new"));
  auto bias = m::attention_bias(torch::tensor({{1, 1, 0}}), torch::kFloat);
  CHECK(bias.sizes() == torch::IntArrayRef({1, 1, 1, 3}));
  CHECK(bias[0][0][0][2].item<float>() == std::numeric_limits<float>::lowest());
  CHECK(bias[0][0][0][0].item<float>() == 0.0f);
}

TEST_CASE("from-scratch configs get HF's initialisation", "[models]") {
  torch::manual_seed(0);
  auto cfg = m::load_model_config(std::string(NLPC_SOURCE_DIR) + "/configs/models/bert-tiny.json");
  CHECK(cfg.bert.hidden_size == 128);
  CHECK(cfg.bert.num_hidden_layers == 2);
  m::ClassifierOptions opt;
  opt.labels = {"a", "b"};
  auto model = m::create_classifier(cfg, opt);
  auto sd = m::module_state_dict(*model);
  CHECK(sd.at("bert.embeddings.word_embeddings.weight")[0].abs().sum().item<double>() == 0.0);  // padding row
  CHECK(sd.at("bert.embeddings.word_embeddings.weight").std().item<double>() == Approx(0.02).epsilon(0.02));
  CHECK(sd.at("bert.encoder.layer.1.attention.self.query.weight").std().item<double>() == Approx(0.02).epsilon(0.05));
  CHECK(sd.at("bert.encoder.layer.0.output.LayerNorm.weight").eq(1).all().item<bool>());
  CHECK(sd.at("bert.encoder.layer.0.output.LayerNorm.bias").eq(0).all().item<bool>());
  CHECK(sd.at("classifier.bias").eq(0).all().item<bool>());
  CHECK(sd.at("classifier.weight").sizes() == torch::IntArrayRef({2, 128}));
  CHECK(sd.count("bert.pooler.dense.weight") == 1);
  CHECK(sd.size() == 5 + 16 * 2 + 2 + 2);
}

TEST_CASE("save_classifier writes a HF folder that loads back identically", "[models]") {
  TempDir dir;
  nlpc::test::write_file(dir.file("vocab.txt"), "[PAD]\n[UNK]\n");
  for (const char* kind : {"hf", "mlp"}) {
    INFO(kind);
    torch::manual_seed(3);
    m::ClassifierOptions opt;
    opt.labels = {"neg", "pos"};
    opt.head.kind = kind;
    opt.head.hidden_sizes = {30};
    opt.head.freeze_encoder = std::string(kind) == "mlp";
    auto model = m::create_classifier(tiny_bert_config(), opt);
    const std::string out = dir.file(std::string("model-") + kind);
    m::save_classifier(*model, out, dir.path().string());
    CHECK(nlpc::file_exists(out + "/vocab.txt"));
    auto j = nlohmann::json::parse(nlpc::test::read_file(out + "/config.json"));
    CHECK(j["id2label"]["1"] == "pos");
    CHECK(j["label2id"]["neg"] == 0);
    CHECK(j["problem_type"] == "single_label_classification");
    CHECK(j["architectures"][0] == (std::string(kind) == "hf" ? "BertForSequenceClassification" : "BertModel"));
    CHECK(j.contains("nlpc_head") == (std::string(kind) == "mlp"));
    auto back = m::load_classifier(out, c10::Device(c10::kCPU));
    CHECK(back->options().head.kind == kind);
    CHECK(back->options().head.freeze_encoder == opt.head.freeze_encoder);
    model->eval();
    back->eval();
    auto ids = torch::randint(1, 50, {3, 9});
    auto mask = torch::ones({3, 9}, torch::kLong);
    mask[1].narrow(0, 5, 4).zero_();
    torch::InferenceMode guard;
    CHECK(max_diff(model->forward(ids, mask), back->forward(ids, mask)) == 0.0);
  }
}

TEST_CASE("fine-tuning start: encoder strictly from the folder, new head", "[models]") {
  m::ClassifierOptions opt;
  opt.labels = {"a", "b"};
  auto model = m::load_classifier(fixture("models/tiny-bert"), c10::Device(c10::kCPU), opt);
  auto ref = m::read_safetensors(fixture("models/tiny-bert/model.safetensors"));
  auto sd = m::module_state_dict(*model);
  CHECK(torch::equal(sd.at("bert.encoder.layer.1.output.dense.weight"), ref.at("bert.encoder.layer.1.output.dense.weight")));
  CHECK(sd.at("classifier.weight").sizes() == torch::IntArrayRef({2, 32}));
  // same labels count and kind: the folder's head is reused
  opt.labels = {"a", "b", "c"};
  auto same = m::load_classifier(fixture("models/tiny-bert"), c10::Device(c10::kCPU), opt);
  CHECK(torch::equal(m::module_state_dict(*same).at("classifier.weight"), ref.at("classifier.weight")));
  // a classifier folder with a broken encoder is refused, naming the key
  TempDir dir;
  std::filesystem::copy(fixture("models/tiny-bert/config.json"), dir.file("config.json"));
  ref.erase("bert.encoder.layer.0.attention.self.key.bias");
  m::save_safetensors(dir.file("model.safetensors"), ref);
  CHECK_THROWS_WITH(m::load_classifier(dir.path().string(), c10::Device(c10::kCPU), opt),
                    Catch::Contains("encoder.layer.0.attention.self.key.bias"));
  CHECK_THROWS_WITH(m::load_classifier(dir.path().string(), c10::Device(c10::kCPU)),
                    Catch::Contains("missing keys (1):\n    bert.encoder.layer.0.attention.self.key.bias [32]"));
}

TEST_CASE("losses follow HF's choice per problem type", "[models]") {
  torch::manual_seed(1);
  auto logits = torch::randn({4, 3});
  m::ClassifierOptions opt;
  opt.labels = {"a", "b", "c"};
  m::SequenceClassifier single(tiny_bert_config(), opt);
  auto labels = torch::tensor({0, 2, 1, 1});
  CHECK(single.loss(logits, labels).item<double>() ==
        Approx((-torch::log_softmax(logits, 1).gather(1, labels.unsqueeze(1))).mean().item<double>()));
  opt.problem_type = m::ProblemType::kMultiLabel;
  m::SequenceClassifier multi(tiny_bert_config(), opt);
  auto y = torch::tensor({{1., 0., 1.}, {0., 0., 0.}, {1., 1., 1.}, {0., 1., 0.}});
  auto p = torch::sigmoid(logits);
  CHECK(multi.loss(logits, y).item<double>() ==
        Approx((-(y * torch::log(p) + (1 - y) * torch::log(1 - p))).mean().item<double>()).epsilon(1e-5));
  opt.problem_type = m::ProblemType::kRegression;
  opt.labels = {"score"};
  m::SequenceClassifier reg(tiny_bert_config(), opt);
  auto r = torch::randn({4, 1});
  auto t = torch::randn({4});
  CHECK(reg.loss(r, t).item<double>() == Approx((r.squeeze() - t).pow(2).mean().item<double>()));
  opt.labels = {"only"};
  opt.problem_type = m::ProblemType::kSingleLabel;
  CHECK_THROWS_AS(m::SequenceClassifier(tiny_bert_config(), opt), nlpc::UsageError);
}

TEST_CASE("checkpoint formats: sharded safetensors and pytorch_model.bin", "[models]") {
  TempDir dir;
  auto w = m::read_safetensors(fixture("models/tiny-distilbert/model.safetensors"));
  m::StateDict a, b;
  nlohmann::json map;
  int i = 0;
  for (auto& [k, t] : w) {
    const bool second = (i++ % 2) == 1;
    (second ? a : b)[k] = t;
    const char* shard = second ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
    map[k] = shard;
  }
  m::save_safetensors(dir.file("model-00001-of-00002.safetensors"), b);
  m::save_safetensors(dir.file("model-00002-of-00002.safetensors"), a);
  nlpc::test::write_file(dir.file("model.safetensors.index.json"), nlohmann::json{{"weight_map", map}}.dump());
  auto loaded = m::load_checkpoint(dir.path().string());
  REQUIRE(loaded.size() == w.size());
  for (auto& [k, t] : w) CHECK(torch::equal(loaded.at(k), t));
  // F16 is converted to the compute dtype
  m::save_safetensors(dir.file("half.safetensors"), {{"x", torch::tensor({1.5, -2.0}).to(torch::kHalf)}});
  auto half = m::load_checkpoint(dir.file("half.safetensors"));
  CHECK(half.at("x").scalar_type() == torch::kFloat);
  CHECK(half.at("x")[1].item<float>() == -2.0f);
  // a zip-format pytorch_model.bin written by torch.save (Python) reads the same tensors
  auto bin = m::load_checkpoint(fixture("models/tiny-distilbert.bin"));
  REQUIRE(bin.size() == w.size());
  for (auto& [k, t] : w) CHECK(torch::equal(bin.at(k), t));
  // torch.save(module.state_dict()) pickles an OrderedDict with a _metadata attribute: nlpc's own
  // reader rebuilds it (libtorch 1.13's pickle_load could not; test_pytorch_reader.cpp has the rest)
  CHECK(m::load_checkpoint(fixture("models/linear-state-dict.bin")).size() == 2);
  nlpc::test::write_file(dir.file("old.bin"), std::string("\x80\x02}q\x00.", 6));
  CHECK_THROWS_WITH(m::load_checkpoint(dir.file("old.bin")), Catch::Contains("magic number"));
  CHECK_THROWS_WITH(m::load_checkpoint(dir.file("nothing")), Catch::Contains("no such model folder"));
}

TEST_CASE("training mode: grad path equals the inference path and backpropagates", "[models]") {
  auto model = m::load_classifier(fixture("models/tiny-bert"), c10::Device(c10::kCPU));
  model->eval();  // no dropout, but gradients on
  auto g = m::read_safetensors(fixture("models/tiny-bert/golden.safetensors"));
  auto logits = model->forward(g.at("input_ids"), g.at("attention_mask"), g.at("token_type_ids"));
  CHECK(max_diff(logits.detach(), g.at("logits")) < 1e-4);
  auto loss = model->loss(logits, torch::tensor({0, 1, 2, 1}));
  loss.backward();
  auto sd = model->named_parameters();
  CHECK(sd["bert.encoder.layer.0.attention.self.query.weight"].grad().abs().sum().item<double>() > 0);
  CHECK(sd["classifier.weight"].grad().abs().sum().item<double>() > 0);
  // frozen encoder: no encoder gradients, head still learns
  m::ClassifierOptions opt;
  opt.labels = {"a", "b"};
  opt.head.kind = "mlp";
  opt.head.hidden_sizes = {30};
  opt.head.freeze_encoder = true;
  auto frozen = m::load_classifier(fixture("models/tiny-bert"), c10::Device(c10::kCPU), opt);
  frozen->train();
  CHECK_FALSE(frozen->encoder().is_training());
  frozen->loss(frozen->forward(g.at("input_ids"), g.at("attention_mask")), torch::tensor({0, 1, 1, 0})).backward();
  for (auto& p : frozen->encoder_parameters()) CHECK_FALSE(p.grad().defined());
  CHECK(frozen->head_parameters().size() == 4);
  for (auto& p : frozen->head_parameters()) CHECK(p.grad().defined());
}

TEST_CASE("inputs longer than max_position_embeddings are refused clearly", "[models]") {
  auto model = m::load_classifier(fixture("models/tiny-distilbert"), c10::Device(c10::kCPU));
  auto ids = torch::ones({1, 41}, torch::kLong);
  CHECK_THROWS_WITH(model->forward(ids, {}), Catch::Contains("sequence length 41 exceeds the model's max_position_embeddings 40"));
}

TEST_CASE("a frozen encoder's features are cached per input and give the uncached logits", "[models]") {
  struct Case {
    std::string kind, folder;
  };
  for (const Case& c : {Case{"hf", "models/tiny-bert"}, Case{"hf", "models/tiny-distilbert"},
                        Case{"mlp", "models/tiny-bert"}}) {
    INFO(c.kind << " " << c.folder);
    torch::manual_seed(5);
    m::ClassifierOptions opt;
    opt.labels = {"a", "b", "c"};
    opt.head.kind = c.kind;
    opt.head.hidden_sizes = {7};
    opt.head.pooling = "mean";
    opt.head.dropout = 0.0;
    opt.head.freeze_encoder = true;
    auto model = m::load_classifier(fixture(c.folder), c10::Device(c10::kCPU), opt);
    model->train(false);  // the hf heads' dropout comes from the config: none here
    const int64_t vocab = model->config().raw.value("vocab_size", int64_t(50));
    auto ids = torch::randint(5, std::min<int64_t>(vocab, 90), {4, 10});
    auto mask = torch::ones({4, 10}, torch::kLong);
    mask[1].narrow(0, 6, 4).zero_();
    mask[3].narrow(0, 2, 8).zero_();
    const auto plain = model->forward(ids, mask).detach();
    model->cache_frozen_features(true);
    const auto first = model->forward(ids, mask);
    CHECK(model->cached_inputs() == 4);
    CHECK(first.requires_grad());  // the head still gets gradients
    CHECK(max_diff(first.detach(), plain) < 1e-5);
    // The same texts in another batch, padded to another length: all from the cache.
    auto ids2 = torch::cat({ids.narrow(0, 3, 1).narrow(1, 0, 2), ids.narrow(0, 1, 1).narrow(1, 0, 2)}, 0);
    auto mask2 = torch::ones({2, 2}, torch::kLong);
    auto ids3 = torch::cat({ids.narrow(0, 1, 1).narrow(1, 0, 6), ids.narrow(0, 3, 1).narrow(1, 0, 6)}, 0);
    auto mask3 = torch::cat({mask.narrow(0, 1, 1).narrow(1, 0, 6), mask.narrow(0, 3, 1).narrow(1, 0, 6)}, 0);
    const auto again = model->forward(ids3, mask3).detach();
    CHECK(model->cached_inputs() == 4);
    CHECK(max_diff(again, torch::cat({plain.narrow(0, 1, 1), plain.narrow(0, 3, 1)}, 0)) < 1e-5);
    // A new input is encoded once; the hidden states still come from the encoder.
    model->forward(ids2, mask2);
    CHECK(model->cached_inputs() == 5);
    CHECK(model->forward_full(ids, mask, {}, true).hidden_states.size() > 1);
    model->cache_frozen_features(false);
    CHECK(model->cached_inputs() == 0);
  }
}
