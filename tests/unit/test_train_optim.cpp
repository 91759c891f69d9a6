// [train] AdamW against torch.optim.AdamW, weight-decay groups, schedules, clipping.
// torch (glog) defines CHECK too: include it first so Catch2's CHECK wins.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cmath>

#include "nlpc/core/error.h"
#include "nlpc/train/optim.h"
#include "train_tiny_model.h"

using namespace nlpc::train;

TEST_CASE("no weight decay on biases and normalization weights (HF names)", "[train]") {
  CHECK(no_weight_decay("bert.embeddings.LayerNorm.weight"));
  CHECK(no_weight_decay("bert.embeddings.LayerNorm.bias"));
  CHECK(no_weight_decay("bert.encoder.layer.0.attention.output.dense.bias"));
  CHECK(no_weight_decay("distilbert.transformer.layer.0.sa_layer_norm.weight"));
  CHECK(no_weight_decay("distilbert.transformer.layer.5.output_layer_norm.weight"));
  CHECK(no_weight_decay("encoder.block.0.layer.0.layer_norm.weight"));
  CHECK(no_weight_decay("encoder.final_layer_norm.weight"));
  CHECK(no_weight_decay("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
  CHECK(no_weight_decay("model.encoder.layers.0.self_attn_layer_norm.weight"));
  CHECK_FALSE(no_weight_decay("bert.encoder.layer.0.attention.self.query.weight"));
  CHECK_FALSE(no_weight_decay("bert.embeddings.word_embeddings.weight"));
  CHECK_FALSE(no_weight_decay("distilbert.pre_classifier.weight"));
  CHECK_FALSE(no_weight_decay("classifier.weight"));
}

TEST_CASE("AdamW groups the tiny model's parameters by name", "[train]") {
  nlpc::test::TinyModel tm(1);
  AdamW opt(tm.model->named_parameters(), AdamWOptions{});
  REQUIRE(opt.groups().size() == 2);
  std::vector<std::string> decay, no_decay;
  for (const auto& np : opt.groups()[0].params) decay.push_back(np.first);
  for (const auto& np : opt.groups()[1].params) no_decay.push_back(np.first);
  CHECK((decay == std::vector<std::string>{"embeddings.weight", "classifier.weight"}));
  CHECK((no_decay == std::vector<std::string>{"LayerNorm.weight", "LayerNorm.bias", "classifier.bias"}));
  CHECK(opt.groups()[0].weight_decay == 0.01);
  CHECK(opt.groups()[1].weight_decay == 0.0);
}

TEST_CASE("AdamW matches torch.optim.AdamW (scripts/ref/train_adamw_ref.py)", "[train]") {
  torch::Tensor w = torch::tensor({1.0f, -2.0f, 0.5f}).requires_grad_(true);
  torch::Tensor b = torch::tensor({0.25f, -0.75f}).requires_grad_(true);
  AdamWOptions o;
  o.weight_decay = 0.1;
  AdamW opt({{"dense.weight", w}, {"dense.bias", b}}, o);
  const std::vector<std::vector<float>> gw = {{0.5f, -1.0f, 2.0f}, {0.1f, 0.2f, -0.3f}, {-1.5f, 0.0f, 0.7f}};
  const std::vector<std::vector<float>> gb = {{1.0f, 2.0f}, {-0.5f, 0.25f}, {0.0f, -3.0f}};
  const std::vector<double> lrs = {0.1, 0.05, 0.025};
  for (size_t i = 0; i < 3; ++i) {
    w.mutable_grad() = torch::tensor(gw[i]);
    b.mutable_grad() = torch::tensor(gb[i]);
    opt.step(lrs[i]);
  }
  const std::vector<float> want_w = {0.853416264f, -1.83056045f, 0.349190027f};
  const std::vector<float> want_b = {0.131536171f, -0.882755876f};
  for (int i = 0; i < 3; ++i) CHECK(w[i].item<float>() == Approx(want_w[i]).epsilon(1e-6));
  for (int i = 0; i < 2; ++i) CHECK(b[i].item<float>() == Approx(want_b[i]).epsilon(1e-6));

  // state round trip
  auto st = opt.state();
  REQUIRE(st.size() == 6);
  CHECK(st[2].first == "dense.weight/step");
  CHECK(st[2].second.item<int64_t>() == 3);
  AdamW other({{"dense.weight", w}, {"dense.bias", b}}, o);
  other.load_state(st);
  CHECK(torch::equal(other.state()[0].second, st[0].second));
  CHECK_THROWS_WITH(other.load_state({}), Catch::Contains("dense.weight/exp_avg"));
}

TEST_CASE("AdamW skips frozen parameters and refuses an all-frozen model", "[train]") {
  torch::Tensor w = torch::ones({2}).requires_grad_(true);
  torch::Tensor f = torch::ones({2});
  AdamW opt({{"a.weight", w}, {"frozen.weight", f}}, AdamWOptions{});
  CHECK(opt.parameters().size() == 1);
  CHECK_THROWS_AS(AdamW({{"frozen.weight", f}}, AdamWOptions{}), nlpc::UsageError);
}

TEST_CASE("linear, cosine and constant schedules with warmup give exact learning rates", "[train]") {
  LrSchedule lin(ScheduleKind::kLinear, 2.0, 10, 100);
  CHECK(lin.lr(0) == 0.0);
  CHECK(lin.lr(5) == 1.0);
  CHECK(lin.lr(10) == 2.0);
  CHECK(lin.lr(55) == 1.0);
  CHECK(lin.lr(99) == Approx(2.0 / 90));
  CHECK(lin.lr(100) == 0.0);
  CHECK(lin.lr(120) == 0.0);
  LrSchedule cos(ScheduleKind::kCosine, 1.0, 10, 100);
  CHECK(cos.lr(3) == Approx(0.3));
  CHECK(cos.lr(10) == 1.0);
  CHECK(cos.lr(40) == Approx(0.75));
  CHECK(cos.lr(55) == Approx(0.5));
  CHECK(cos.lr(70) == Approx(0.25));
  CHECK(cos.lr(100) == Approx(0.0).margin(1e-12));
  LrSchedule con(ScheduleKind::kConstant, 1.0, 10, 100);
  CHECK(con.lr(3) == Approx(0.3));
  CHECK(con.lr(50) == 1.0);
  LrSchedule nowarm(ScheduleKind::kLinear, 1.0, 0, 4);
  CHECK(nowarm.lr(0) == 1.0);
  CHECK(nowarm.lr(1) == 0.75);
  CHECK(nowarm.lr(3) == 0.25);
  CHECK(resolve_warmup_steps(0, 0.1, 95) == 10);
  CHECK(resolve_warmup_steps(5, 0.5, 100) == 5);
  CHECK(resolve_warmup_steps(0, 0.0, 100) == 0);
  CHECK_THROWS_AS(resolve_warmup_steps(0, 1.5, 100), nlpc::UsageError);
  CHECK(parse_schedule("cosine") == ScheduleKind::kCosine);
  CHECK_THROWS_WITH(parse_schedule("cosine_with_restarts"), Catch::Contains("linear, cosine or constant"));
}

TEST_CASE("gradient clipping scales to max_norm and reports the norm before", "[train]") {
  torch::Tensor a = torch::zeros({2}).requires_grad_(true);
  torch::Tensor b = torch::zeros({1}).requires_grad_(true);
  a.mutable_grad() = torch::tensor({3.0f, 0.0f});
  b.mutable_grad() = torch::tensor({4.0f});
  CHECK((clip_grad_norm({a, b}, 10.0) == Approx(5.0)));
  CHECK(a.grad()[0].item<float>() == 3.0f);  // under the limit: untouched
  CHECK((clip_grad_norm({a, b}, 1.0) == Approx(5.0)));
  CHECK(a.grad()[0].item<float>() == Approx(3.0 / (5.0 + 1e-6)));
  CHECK(b.grad()[0].item<float>() == Approx(4.0 / (5.0 + 1e-6)));
  b.mutable_grad() = torch::tensor({std::nanf("")});
  CHECK((std::isnan(clip_grad_norm({a, b}, 1.0))));
}
