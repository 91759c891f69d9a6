// Int8 dynamic quantization (issue 17, nlpc/models/layers/int8.h): the weight quantizer follows
// PyTorch's per-channel symmetric observer; the int8 kernel equals an exact emulation of the scheme
// (uint8 activations per tensor, int32 accumulation) up to float rounding; quantized BERT, T5 and
// Whisper stay close to float32; a quantized folder reloads to identical outputs; folders quantized
// by another build are refused.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/audio/mel.h"
#include "nlpc/core/error.h"
#include "nlpc/io/safetensors.h"
#include "nlpc/models/bert/classifier.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/models/layers/layers.h"
#include "nlpc/models/t5/t5.h"
#include "nlpc/models/whisper/whisper.h"

namespace m = nlpc::models;
namespace q8 = nlpc::models::int8;
namespace fs = std::filesystem;
using nlpc::test::fixture;
using nlpc::test::TempDir;

namespace {

// The scheme computed step by step in double: activations to uint8 over [min(x,0), max(x,0)],
// (xq - zp) . q accumulated exactly, then scaled.
torch::Tensor q8_emulate(const torch::Tensor& x, const torch::Tensor& qw, const torch::Tensor& scale,
                      const torch::Tensor& b) {
  const double lo = std::min(0.0, x.min().item<double>()), hi = std::max(0.0, x.max().item<double>());
  const double sx = (hi - lo) / 255.0;
  const double zp = std::clamp(std::nearbyint(-lo / sx), 0.0, 255.0);
  // as the kernel (and torch.quantize_per_tensor) rounds: rint(x * float(1 / scale)) in float32
  const torch::Tensor inv = torch::full({}, 1.0f / static_cast<float>(sx));
  const torch::Tensor xq = torch::clamp(torch::round(x * inv).to(torch::kDouble) + zp, 0, 255);
  torch::Tensor acc = torch::mm(xq - zp, qw.to(torch::kDouble).t());  // integers, exact in double
  torch::Tensor y = acc * sx * scale.to(torch::kDouble).unsqueeze(0);
  if (b.defined()) y = y + b.to(torch::kDouble);
  return y.to(torch::kFloat);
}

double q8_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

std::string q8_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

torch::Tensor q8_bert_logits(const std::string& dir, const std::string& precision) {
  auto model = m::load_classifier(dir, c10::Device(c10::kCPU), std::nullopt, torch::kFloat, precision);
  model->eval();
  auto g = m::read_safetensors(fixture("models/tiny-bert/golden.safetensors"));
  torch::InferenceMode guard;
  return model->forward(g.at("input_ids"), g.at("attention_mask"), g.at("token_type_ids"));
}

// A copy of tiny-bert's folder.
std::string q8_copy_folder(const TempDir& d, const std::string& from, const std::string& name) {
  fs::create_directories(d.file(name));
  for (const auto& e : fs::directory_iterator(from)) fs::copy_file(e.path(), d.file(name + "/" + e.path().filename().string()));
  return d.file(name);
}

}  // namespace

TEST_CASE("int8 weights: PyTorch's per-channel symmetric qint8 observer", "[int8]") {
  torch::manual_seed(3);
  torch::Tensor w = torch::randn({6, 40}) * 0.02;
  w[1].zero_();                 // all-zero channel: scale = float32 eps, values 0
  w[2][5] = 0.5;                // largest magnitude positive: +-127.5 steps, clamped to [-128, 127]
  w[3][7] = -0.5;
  const auto qw = q8::quantize_weight(w);
  REQUIRE(qw.weight.scalar_type() == torch::kChar);
  REQUIRE(qw.scale.sizes() == std::vector<int64_t>{6});
  CHECK(qw.scale[1].item<float>() == std::numeric_limits<float>::epsilon());
  CHECK(qw.weight[1].abs().max().item<int>() == 0);
  CHECK(qw.scale[2].item<float>() == Approx(0.5 / 127.5));
  CHECK(qw.weight[2][5].item<int>() == 127);
  CHECK(qw.weight[3][7].item<int>() <= -127);
  // every value within half a step of the weight (except the clamped 127.5 of row 2: one step)
  const torch::Tensor err = (q8::dequantize_weight(qw.weight, qw.scale) - w).abs();
  const torch::Tensor half_step = qw.scale.unsqueeze(1) * 0.5 * (1 + 1e-5) + 1e-9;
  CHECK((err.narrow(0, 3, 3) <= half_step.narrow(0, 3, 3)).all().item<bool>());
  CHECK((err <= half_step * 2).all().item<bool>());
}

TEST_CASE("int8 linear equals the scheme's exact emulation, for any row count", "[int8]") {
  q8::require_engine("test");
  torch::manual_seed(5);
  const torch::Tensor w = torch::randn({96, 64}) * 0.05, b = torch::randn({96}) * 0.1;
  const auto qw = q8::quantize_weight(w);
  for (int64_t rows : {1, 3, 64, 257}) {
    INFO("rows " << rows);
    torch::Tensor x = torch::randn({rows, 64}) + 0.3;  // skewed: the zero point matters
    const torch::Tensor y = q8::linear(x, qw.weight, qw.scale, b);
    const torch::Tensor want = q8_emulate(x, qw.weight, qw.scale, b);
    // the same integers; only the float scaling and bias addition round differently
    CHECK(q8_diff(y, want) < 1e-5 * (1.0 + want.abs().max().item<double>()));
    // and close to the float layer: at most half an activation step times sum |w| per output
    const torch::Tensor fp = torch::addmm(b, x, w.t());
    const double sx = (std::max(0.0, x.max().item<double>()) - std::min(0.0, x.min().item<double>())) / 255.0;
    const torch::Tensor bound = 0.5 * sx * w.abs().sum(1) + 0.5 * qw.scale * x.abs().sum(1, true) + 1e-5;
    CHECK(((y - fp).abs() <= bound).all().item<bool>());
    // without a bias
    CHECK(q8_diff(q8::linear(x, qw.weight, qw.scale, {}), q8_emulate(x, qw.weight, qw.scale, {})) < 1e-4);
    // the exact GELU fused into the kernel (BERT's FFN): GELU of the same result
    CHECK(q8_diff(q8::linear(x, qw.weight, qw.scale, b, /*gelu=*/true), torch::gelu(want)) <
          1e-5 * (1.0 + want.abs().max().item<double>()));
  }
  // an all-zero input gives the bias
  CHECK(q8_diff(q8::linear(torch::zeros({2, 64}), qw.weight, qw.scale, b), b.unsqueeze(0).expand({2, 96})) < 1e-6);
}

TEST_CASE("int8 linear repacks when the weight changes in place", "[int8]") {
  q8::require_engine("test");
  torch::manual_seed(8);
  auto qw = q8::quantize_weight(torch::randn({16, 32}));
  const torch::Tensor x = torch::randn({4, 32});
  const torch::Tensor before = q8::linear(x, qw.weight, qw.scale, {});
  const auto other = q8::quantize_weight(torch::randn({16, 32}));
  {
    torch::NoGradGuard g;
    qw.weight.copy_(other.weight);  // same storage, new version
    qw.scale.copy_(other.scale);
  }
  const torch::Tensor after = q8::linear(x, qw.weight, qw.scale, {});
  CHECK(q8_diff(after, q8_emulate(x, other.weight, other.scale, {})) < 1e-4);
  CHECK(q8_diff(after, before) > 0.1);
}

TEST_CASE("int8 BERT: close to float32, quantized folder reloads identically, other builds refused", "[int8]") {
  q8::require_engine("test");
  const std::string dir = fixture("models/tiny-bert");
  const torch::Tensor fp = q8_bert_logits(dir, "fp32");
  const torch::Tensor i8 = q8_bert_logits(dir, "int8");
  // Each quantized Linear adds ~0.5 % relative error (8-bit steps of the activation range); through
  // the tiny 2-layer stack the logits move by a small fraction of their spread.
  const double spread = (fp.max() - fp.min()).item<double>();
  CHECK(q8_diff(i8, fp) < 0.05 * spread);
  CHECK(q8_diff(i8, fp) > 0);  // really int8
  CHECK(torch::equal(i8.argmax(1), fp.argmax(1)));

  // Only the encoder stack is quantized: embeddings and the classifier head stay float.
  auto model = m::load_classifier(dir, c10::Device(c10::kCPU), std::nullopt, torch::kFloat, "int8");
  int64_t int8_weights = 0;
  for (const auto& p : model->named_parameters()) {
    if (p.value().scalar_type() != torch::kChar) continue;
    ++int8_weights;
    CHECK(q8::quantizable(p.key()));
    CHECK(p.key().find("classifier") == std::string::npos);
    CHECK(p.key().find("embeddings") == std::string::npos);
  }
  CHECK(int8_weights > 0);

  // Saved and reloaded: the same tensors, the same logits bit for bit.
  TempDir d;
  const std::string out = q8_copy_folder(d, dir, "q");
  fs::remove(out + "/golden.safetensors");
  m::save_safetensors(out + "/model.safetensors", m::module_state_dict(*model));
  const auto meta = m::weights_metadata(out);
  REQUIRE(meta.count(q8::kMetadataKey) == 1);
  CHECK(meta.at(q8::kMetadataKey) == q8::kScheme);
  CHECK(torch::equal(q8_bert_logits(out, "auto"), i8));
  CHECK(torch::equal(q8_bert_logits(out, "int8"), i8));
  // --precision fp32 on an int8 folder dequantizes: close to the original float model
  CHECK(q8_diff(q8_bert_logits(out, "fp32"), fp) < 0.05 * spread);

  // The same tensors without (or with another) scheme entry: a clear error naming the file.
  auto weights = m::read_safetensors(out + "/model.safetensors", m::kKeepDtype);
  std::vector<nlpc::safetensors::TensorView> views;
  std::vector<torch::Tensor> keep;
  for (const auto& [name, t] : weights) {
    keep.push_back(t.contiguous());
    nlpc::safetensors::TensorView v;
    v.name = name;
    v.dtype = t.scalar_type() == torch::kChar ? nlpc::safetensors::DType::I8 : nlpc::safetensors::DType::F32;
    v.shape = t.sizes().vec();
    v.data = keep.back().data_ptr();
    v.nbytes = t.numel() * t.element_size();
    views.push_back(v);
  }
  for (const std::map<std::string, std::string>& md :
       {std::map<std::string, std::string>{{"format", "pt"}},
        std::map<std::string, std::string>{{"format", "pt"}, {q8::kMetadataKey, "other-int8-v9"}}}) {
    nlpc::safetensors::write(out + "/model.safetensors", views, md);
    const std::string msg = q8_error([&] { q8_bert_logits(out, "auto"); });
    INFO(msg);
    CHECK_THAT(msg, Catch::Contains(out + "/model.safetensors") && Catch::Contains("quantized by another build") &&
                        Catch::Contains(q8::kScheme));
  }
}

TEST_CASE("int8 T5 and Whisper: close to float32 through the decoders and their caches", "[int8]") {
  q8::require_engine("test");
  for (const std::string name : {"relu", "gated-gelu"}) {
    INFO(name);
    auto fp = m::load_t5(fixture("t5/" + name), "fp32");
    auto i8 = m::load_t5(fixture("t5/" + name), "int8");
    fp->eval();
    i8->eval();
    torch::InferenceMode guard;
    const torch::Tensor ids = torch::tensor({{5, 9, 14, 3, 1}, {7, 2, 11, 1, 0}}, torch::kLong);
    const torch::Tensor mask = (ids != 0).to(torch::kLong);
    const torch::Tensor labels = torch::tensor({{4, 6, 8, 1}, {3, 5, 1, -100}}, torch::kLong);
    const auto a = fp->forward(ids, mask, labels), b = i8->forward(ids, mask, labels);
    const double spread = (a.logits.max() - a.logits.min()).item<double>();
    CHECK(q8_diff(a.logits, b.logits) < 0.05 * spread);
    CHECK(q8_diff(a.logits, b.logits) > 0);
    CHECK(b.loss.item<double>() == Approx(a.loss.item<double>()).epsilon(0.02));
  }
  const std::string dir = fixture("whisper/tiny-random");
  auto load = [&](const std::string& precision) {
    m::WhisperForConditionalGeneration model(m::load_whisper_config(dir));
    m::StateDict w = m::load_checkpoint(dir);
    const bool quantize = q8::before_load(*model, w, precision, dir);
    model->load_state(w, dir);
    if (quantize) q8::quantize_module(*model);
    model->eval();
    return model;
  };
  auto fp = load("fp32"), i8 = load("int8");
  torch::InferenceMode guard;
  const torch::Tensor feats = nlpc::audio::read_npy(dir + "/features.npy");
  const torch::Tensor enc_fp = fp->encode(feats), enc_i8 = i8->encode(feats);
  CHECK(q8_diff(enc_fp, enc_i8) < 0.05 * (enc_fp.max() - enc_fp.min()).item<double>());
  const auto expected = nlohmann::json::parse(nlpc::test::read_file(dir + "/expected.json"));
  const torch::Tensor tokens =
      torch::tensor(expected["teacher_tokens"].get<std::vector<int64_t>>(), torch::kLong).unsqueeze(0);
  const torch::Tensor full = i8->decode(tokens, enc_i8);
  auto cache = i8->make_cache();
  std::vector<torch::Tensor> steps;
  for (int64_t t = 0; t < tokens.size(1); ++t) steps.push_back(i8->decode(tokens.narrow(1, t, 1), enc_i8, &cache));
  // one token at a time through the KV caches = the whole sequence at once (up to the activation
  // quantization, whose range is per call)
  const torch::Tensor ref = fp->decode(tokens, enc_fp);
  const double spread = (ref.max() - ref.min()).item<double>();
  CHECK(q8_diff(torch::cat(steps, 1), full) < 0.05 * spread);
  CHECK(q8_diff(full, ref) < 0.05 * spread);
}

TEST_CASE("int8: precision values and devices are checked", "[int8]") {
  CHECK_THROWS_AS(q8::check_precision("int4", "--precision"), nlpc::UsageError);
  q8::check_precision("auto", "--precision");
  CHECK(q8::quantizable("bert.encoder.layer.3.attention.self.query"));
  CHECK(q8::quantizable("decoder.block.0.layer.1.EncDecAttention.q"));
  CHECK(q8::quantizable("model.encoder.layers.0.fc1"));
  CHECK_FALSE(q8::quantizable("classifier"));
  CHECK_FALSE(q8::quantizable("bert.pooler.dense"));
  CHECK_FALSE(q8::quantizable("lm_head"));
  CHECK_FALSE(q8::engine().empty());
}
