// [train] batching, padding, losses and class weights.
// torch (glog) defines CHECK too: include it first so Catch2's CHECK wins.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <set>

#include "nlpc/core/error.h"
#include "nlpc/train/batch.h"
#include "nlpc/train/model.h"
#include "train_tiny_model.h"

using namespace nlpc::train;

namespace {
std::vector<int64_t> flatten(const BatchPlan& plan) {
  std::vector<int64_t> out;
  for (const auto& b : plan) out.insert(out.end(), b.begin(), b.end());
  return out;
}
}  // namespace

TEST_CASE("batch plans are a deterministic permutation per (seed, epoch)", "[train]") {
  auto ex = nlpc::test::make_examples(103, 1);
  BatchingOptions o;
  o.batch_size = 8;
  o.bucket_window = 4;
  Batcher a(&ex, o, 42);
  Batcher b(&ex, o, 42);
  Batcher c(&ex, o, 43);
  CHECK(a.batches_per_epoch() == 13);
  const BatchPlan p0 = a.plan(0);
  CHECK(p0 == b.plan(0));
  CHECK(p0 != a.plan(1));
  CHECK(p0 != c.plan(0));
  REQUIRE(p0.size() == 13);
  auto all = flatten(p0);
  CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 103);
  CHECK(all.size() == 103);
  // Bucketing: inside a batch the lengths are a contiguous run of the window's sorted lengths, so
  // a batch's length spread is small compared with the data's (3..12).
  int64_t spread_sum = 0;
  for (const auto& batch : p0) {
    size_t lo = 100, hi = 0;
    for (int64_t i : batch) {
      lo = std::min(lo, ex[i].ids.size());
      hi = std::max(hi, ex[i].ids.size());
    }
    spread_sum += static_cast<int64_t>(hi - lo);
  }
  CHECK(spread_sum <= 13 * 3);
}

TEST_CASE("no shuffle keeps example order; drop_last drops the short batch", "[train]") {
  auto ex = nlpc::test::make_examples(10, 1);
  BatchingOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  Batcher a(&ex, o, 0);
  CHECK((a.plan(3) == BatchPlan{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  o.drop_last = true;
  Batcher d(&ex, o, 0);
  CHECK((d.plan(0) == BatchPlan{{0, 1, 2, 3}, {4, 5, 6, 7}}));
  CHECK(d.batches_per_epoch() == 2);
  // eval plan: sorted by length, covering every example once
  auto ev = flatten(a.eval_plan());
  REQUIRE(ev.size() == 10);
  for (size_t i = 1; i < ev.size(); ++i) CHECK(ex[ev[i - 1]].ids.size() <= ex[ev[i]].ids.size());
}

TEST_CASE("collate pads dynamically with the pad id", "[train]") {
  std::vector<Example> ex(2);
  ex[0].ids = {101, 5, 102};
  ex[0].type_ids = {0, 0, 1};
  ex[0].label = 2;
  ex[1].ids = {101, 102};
  ex[1].label = 0;
  BatchingOptions o;
  o.pad_id = 7;
  Batcher b(&ex, o, 0);
  Batch batch = b.collate({1, 0});
  CHECK((torch::equal(batch.input_ids, torch::tensor({101, 102, 7, 101, 5, 102}, torch::kInt64).view({2, 3}))));
  CHECK((torch::equal(batch.attention_mask, torch::tensor({1, 1, 0, 1, 1, 1}, torch::kInt64).view({2, 3}))));
  CHECK((torch::equal(batch.token_type_ids, torch::tensor({0, 0, 0, 0, 0, 1}, torch::kInt64).view({2, 3}))));
  CHECK((torch::equal(batch.labels, torch::tensor({0, 2}, torch::kInt64))));
  CHECK((batch.indices == std::vector<int64_t>{1, 0}));
  CHECK(batch.num_tokens == 5);
  CHECK_FALSE(batch.target_ids.defined());

  o.pad_to_multiple = 8;
  Batcher b8(&ex, o, 0);
  CHECK((b8.collate({0, 1}).input_ids.sizes() == torch::IntArrayRef({2, 8})));
}

TEST_CASE("collate builds multi-label and seq2seq targets", "[train]") {
  std::vector<Example> ex(2);
  ex[0].ids = {1, 2};
  ex[0].targets = {1, 0, 1};
  ex[0].target_ids = {4, 5, 6};
  ex[1].ids = {3};
  ex[1].targets = {0, 1, 0};
  ex[1].target_ids = {9};
  Batcher b(&ex, BatchingOptions{}, 0);
  Batch batch = b.collate({0, 1});
  CHECK(batch.labels.scalar_type() == torch::kFloat32);
  CHECK((torch::equal(batch.labels, torch::tensor({1.f, 0.f, 1.f, 0.f, 1.f, 0.f}).view({2, 3}))));
  CHECK((torch::equal(batch.target_ids, torch::tensor({4, 5, 6, 9, -100, -100}, torch::kInt64).view({2, 3}))));
  CHECK((torch::equal(batch.target_mask, torch::tensor({1, 1, 1, 1, 0, 0}, torch::kInt64).view({2, 3}))));
}

TEST_CASE("batcher rejects empty data, empty token lists and mixed label kinds", "[train]") {
  std::vector<Example> none;
  CHECK_THROWS_AS(Batcher(&none, BatchingOptions{}, 0), nlpc::InputError);
  std::vector<Example> ex(2);
  ex[0].ids = {1};
  ex[0].label = 0;
  CHECK_THROWS_WITH(Batcher(&ex, BatchingOptions{}, 0), Catch::Contains("example 1 has no tokens"));
  ex[1].ids = {2};
  ex[1].targets = {1, 0};
  Batcher b(&ex, BatchingOptions{}, 0);
  CHECK_THROWS_WITH(b.collate({0, 1}), Catch::Contains("different label kind"));
}

TEST_CASE("task loss: weighted cross-entropy and BCE with pos_weight", "[train]") {
  Batch b;
  b.indices = {0, 1};
  b.labels = torch::tensor({0, 1}, torch::kInt64);
  torch::Tensor logits = torch::tensor({2.0f, 0.0f, 0.5f, 1.5f}).view({2, 2});
  LossOptions o;
  const double l0 = std::log(1 + std::exp(-2.0));   // -log softmax for row 0, class 0
  const double l1 = std::log(1 + std::exp(-1.0));   // row 1, class 1
  CHECK(task_loss(logits, b, o).item<double>() == Approx((l0 + l1) / 2).epsilon(1e-6));
  o.class_weights = torch::tensor({1.0f, 3.0f});
  CHECK(task_loss(logits, b, o).item<double>() == Approx((l0 + 3 * l1) / 4).epsilon(1e-6));

  LossOptions m;
  m.task = Task::kMultiLabel;
  b.labels = torch::tensor({1.f, 0.f, 0.f, 1.f}).view({2, 2});
  const double sp = std::log(1 + std::exp(-2.0)), sn = std::log(1 + std::exp(0.0));
  const double sn2 = std::log(1 + std::exp(0.5)), sp2 = std::log(1 + std::exp(-1.5));
  CHECK(task_loss(logits, b, m).item<double>() == Approx((sp + sn + sn2 + sp2) / 4).epsilon(1e-6));
  m.class_weights = torch::tensor({2.0f, 1.0f});  // pos_weight scales positive terms
  CHECK(task_loss(logits, b, m).item<double>() == Approx((2 * sp + sn + sn2 + sp2) / 4).epsilon(1e-6));
  CHECK_THROWS_WITH(task_loss(logits, b, o), Catch::Contains("multi-label"));
}

TEST_CASE("balanced class weights are n / (k * count)", "[train]") {
  auto w = balanced_class_weights({0, 0, 0, 1, 2, 2}, 4);
  REQUIRE(w.size() == 4);
  CHECK(w[0] == Approx(6.0 / (4 * 3)));
  CHECK(w[1] == Approx(6.0 / (4 * 1)));
  CHECK(w[2] == Approx(6.0 / (4 * 2)));
  CHECK(w[3] == 1.0f);
  CHECK_THROWS_AS(balanced_class_weights({0, 5}, 3), nlpc::InputError);
  auto pw = balanced_pos_weights({{1, 0}, {1, 0}, {0, 1}, {0, 0}});
  CHECK((pw == std::vector<float>{1.0f, 3.0f}));
}
