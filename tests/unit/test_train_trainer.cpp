// [train] the training loop on a tiny model: learning, schedules in the loop, accumulation,
// determinism, early stopping, freezing, NaN detection.
// torch (glog) defines CHECK too: include it first so Catch2's CHECK wins.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "nlpc/core/error.h"
#include "nlpc/core/progress.h"
#include "nlpc/train/state_file.h"
#include "nlpc/train/trainer.h"
#include "../test_util.h"
#include "train_tiny_model.h"

using namespace nlpc::train;
using nlpc::test::TinyModel;

namespace {

TrainerOptions base_options() {
  TrainerOptions o;
  o.epochs = 0;
  o.max_steps = 0;
  o.batching.batch_size = 8;
  o.adamw.lr = 3e-2;
  o.progress = false;
  return o;
}

MetricMap valid_metrics(TrainableModel& m, const std::vector<Example>& valid) {
  torch::Tensor logits = predict_logits(m, valid, BatchingOptions{}, torch::kCPU);
  std::vector<int64_t> y;
  for (const auto& e : valid) y.push_back(e.label);
  const double loss = torch::nn::functional::cross_entropy(logits, torch::tensor(y)).item<double>();
  return {{"accuracy", nlpc::test::accuracy(logits, valid)}, {"loss", loss}};
}

// Wraps a model and returns a NaN loss on the `nan_at`-th call of loss().
class NanModel : public TrainableModel {
 public:
  NanModel(TrainableModel& inner, int64_t nan_at) : inner_(inner), nan_at_(nan_at) {}
  torch::Tensor logits(const Batch& b) override { return inner_.logits(b); }
  torch::Tensor loss(const Batch& b, const LossOptions& o) override {
    torch::Tensor l = inner_.loss(b, o);
    return ++calls_ == nan_at_ ? l * std::numeric_limits<float>::quiet_NaN() : l;
  }
  std::vector<NamedParameter> named_parameters() override { return inner_.named_parameters(); }
  void train(bool on) override { inner_.train(on); }

 private:
  TrainableModel& inner_;
  int64_t nan_at_;
  int64_t calls_ = 0;
};

}  // namespace

TEST_CASE("trainer learns the synthetic task (loss falls, accuracy reaches ~1)", "[train]") {
  auto train = nlpc::test::make_examples(96, 1);
  auto valid = nlpc::test::make_examples(60, 2);
  TinyModel tm(7);
  TrainerOptions o = base_options();
  o.epochs = 15;
  o.warmup_ratio = 0.1;
  o.metric_for_best = "accuracy";
  std::vector<double> losses;
  TrainerCallbacks cb;
  cb.evaluate = [&](TrainableModel& m) { return valid_metrics(m, valid); };
  cb.on_step = [&](const StepLog& s) { losses.push_back(s.loss); };
  Trainer trainer(*tm.model, train, o, cb);
  CHECK(trainer.total_steps() == 15 * 12);
  TrainResult r = trainer.train();
  CHECK(r.steps == 180);
  CHECK(r.evals.size() == 15);
  REQUIRE(losses.size() == 180);
  CHECK(losses.back() < losses.front() / 5);
  CHECK(r.best_metric >= 0.95);
  CHECK(r.samples_per_s > 0);
  // the model holds the best parameters
  CHECK(valid_metrics(*tm.model, valid).at("accuracy") == r.best_metric);
}

TEST_CASE("the loop applies the schedule's learning rates and logs them", "[train]") {
  auto train = nlpc::test::make_examples(48, 1);
  TinyModel tm(7);
  TrainerOptions o = base_options();
  o.max_steps = 6;
  o.warmup_steps = 2;
  o.adamw.lr = 0.1;
  std::vector<double> lrs;
  std::vector<int64_t> steps;
  TrainerCallbacks cb;
  cb.on_step = [&](const StepLog& s) {
    lrs.push_back(s.lr);
    steps.push_back(s.step);
    CHECK(s.total_steps == 6);
  };
  o.progress = true;  // exercise the bar (plain lines on stderr)
  nlpc::ProgressBar::set_mode(nlpc::ProgressBar::Mode::kPlain);
  Trainer(*tm.model, train, o, cb).train();
  nlpc::ProgressBar::set_mode(nlpc::ProgressBar::Mode::kAuto);
  CHECK((steps == std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  REQUIRE(lrs.size() == 6);
  const std::vector<double> want = {0.0, 0.05, 0.1, 0.075, 0.05, 0.025};
  for (size_t i = 0; i < 6; ++i) CHECK(lrs[i] == Approx(want[i]).margin(1e-12));
}

TEST_CASE("gradient accumulation 2 x batch 4 equals batch 8", "[train]") {
  auto train = nlpc::test::make_examples(24, 3);
  auto run = [&](int64_t bs, int64_t accum, std::vector<double>& losses) {
    TinyModel tm(11, /*dropout=*/0.0);
    TrainerOptions o = base_options();
    o.batching.batch_size = bs;
    o.batching.shuffle = false;
    o.grad_accum = accum;
    o.max_steps = 3;
    o.schedule = ScheduleKind::kConstant;
    TrainerCallbacks cb;
    cb.on_step = [&](const StepLog& s) {
      losses.push_back(s.loss);
      CHECK(s.samples == 8);
    };
    Trainer(*tm.model, train, o, cb).train();
    return nlpc::test::flat_params(*tm.model);
  };
  std::vector<double> l8, l4;
  torch::Tensor p8 = run(8, 1, l8);
  torch::Tensor p4 = run(4, 2, l4);
  REQUIRE(l4.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(l4[i] == Approx(l8[i]).margin(1e-6));
  CHECK((p8 - p4).abs().max().item<double>() < 1e-6);
  TinyModel fresh(11, 0.0);
  CHECK((p8 - nlpc::test::flat_params(*fresh.model)).abs().max().item<double>() > 1e-3);  // it moved
}

TEST_CASE("same seed gives identical losses and parameters; another seed does not", "[train]") {
  auto train = nlpc::test::make_examples(64, 4);
  auto run = [&](uint64_t seed, std::vector<double>& losses) {
    TinyModel tm(5, /*dropout=*/0.2);
    TrainerOptions o = base_options();
    o.epochs = 2;
    o.grad_accum = 2;
    o.seed = seed;
    TrainerCallbacks cb;
    cb.on_step = [&](const StepLog& s) { losses.push_back(s.loss); };
    Trainer(*tm.model, train, o, cb).train();
    return nlpc::test::flat_params(*tm.model);
  };
  std::vector<double> a, b, c;
  torch::Tensor pa = run(1, a), pb = run(1, b), pc = run(2, c);
  CHECK(a.size() == 8);
  CHECK(a == b);
  CHECK(torch::equal(pa, pb));
  CHECK(a != c);
}

TEST_CASE("early stopping on a metric with patience restores the best parameters", "[train]") {
  auto train = nlpc::test::make_examples(64, 5);
  for (const bool on_disk : {false, true}) {
    nlpc::test::TempDir dir;
    TinyModel tm(3);
    TrainerOptions o = base_options();
    o.epochs = 10;
    o.eval_steps = 1;
    o.metric_for_best = "f1";
    o.early_stopping_patience = 2;
    o.early_stopping_threshold = 0.01;
    if (on_disk) o.checkpoint_dir = dir.file("ckpt");
    const std::vector<double> script = {0.5, 0.7, 0.705, 0.65, 0.9, 0.95};
    size_t calls = 0;
    torch::Tensor best_seen;
    std::vector<CheckpointKind> saved;
    TrainerCallbacks cb;
    cb.evaluate = [&](TrainableModel& m) {
      const double v = script.at(calls++);
      if (v == 0.7) best_seen = nlpc::test::flat_params(m);
      return MetricMap{{"f1", v}};
    };
    cb.save_model = [&](CheckpointKind k, TrainableModel&) { saved.push_back(k); };
    TrainResult r = Trainer(*tm.model, train, o, cb).train();
    CHECK(r.stopped_early);
    CHECK(r.steps == 4);  // 0.705 is not > 0.7 + 0.01; 0.65 neither: two evaluations without improvement
    CHECK(r.best_step == 2);
    CHECK(r.best_metric == 0.7);
    CHECK(r.last_metrics.at("f1") == 0.65);
    CHECK(r.evals.size() == 4);
    CHECK(r.evals[1].is_best);
    CHECK(r.evals[3].patience_used == 2);
    CHECK((saved == std::vector<CheckpointKind>{CheckpointKind::kBest, CheckpointKind::kBest, CheckpointKind::kLast}));
    CHECK(torch::equal(nlpc::test::flat_params(*tm.model), best_seen));
  }
}

TEST_CASE("mode min: a lower metric is better", "[train]") {
  auto train = nlpc::test::make_examples(32, 5);
  TinyModel tm(3);
  TrainerOptions o = base_options();
  o.max_steps = 4;
  o.eval_steps = 1;
  o.metric_for_best = "loss";
  o.greater_is_better = false;
  const std::vector<double> script = {0.9, 0.5, 0.7, 0.6};
  size_t calls = 0;
  TrainerCallbacks cb;
  cb.evaluate = [&](TrainableModel&) { return MetricMap{{"loss", script.at(calls++)}}; };
  TrainResult r = Trainer(*tm.model, train, o, cb).train();
  CHECK(r.best_step == 2);
  CHECK(r.best_metric == 0.5);
  CHECK_FALSE(r.stopped_early);
  o.metric_for_best = "f1";
  calls = 0;
  CHECK_THROWS_WITH(Trainer(*tm.model, train, o, cb).train(),
                    Catch::Contains("'f1' is not among the validation metrics: loss"));
}

TEST_CASE("frozen prefixes keep those parameters unchanged", "[train]") {
  auto train = nlpc::test::make_examples(32, 6);
  TinyModel tm(3);
  torch::Tensor emb0 = tm.net->embeddings->weight.detach().clone();
  torch::Tensor cls0 = tm.net->classifier->weight.detach().clone();
  TrainerOptions o = base_options();
  o.max_steps = 4;
  o.freeze_prefixes = {"embeddings."};
  Trainer(*tm.model, train, o, TrainerCallbacks{}).train();
  CHECK(torch::equal(tm.net->embeddings->weight, emb0));
  CHECK_FALSE(torch::equal(tm.net->classifier->weight, cls0));
  o.freeze_prefixes = {"bert.encoder."};
  TinyModel other(3);
  CHECK_THROWS_WITH(Trainer(*other.model, train, o, TrainerCallbacks{}),
                    Catch::Contains("freeze prefix 'bert.encoder.' matches no parameter"));
}

TEST_CASE("a NaN loss stops training, names the update and keeps the last good checkpoint", "[train]") {
  auto train = nlpc::test::make_examples(64, 7);
  nlpc::test::TempDir dir;
  TinyModel tm(3);
  NanModel nan_model(*tm.model, 5);
  TrainerOptions o = base_options();
  o.epochs = 3;
  o.save_steps = 2;
  o.checkpoint_dir = dir.file("ckpt");
  std::vector<CheckpointKind> saved;
  TrainerCallbacks cb;
  cb.save_model = [&](CheckpointKind k, TrainableModel&) { saved.push_back(k); };
  Trainer trainer(nan_model, train, o, cb);
  try {
    trainer.train();
    FAIL("expected a RuntimeError");
  } catch (const nlpc::RuntimeError& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("non-finite training loss (nan) at update 5 of 24"));
    CHECK_THAT(msg, Catch::Contains("epoch 1, batches 5-5 of 8"));
    CHECK_THAT(msg, Catch::Contains("last good checkpoint (update 4)"));
  }
  CHECK(saved.empty());
  TensorBundle b = read_tensor_bundle(trainer.state_path());
  CHECK(b.meta["progress"]["step"] == 4);
  CHECK(torch::isfinite(b.get("param/classifier.weight")).all().item<bool>());
  CHECK(torch::isfinite(nlpc::test::flat_params(*tm.model)).all().item<bool>());
}

TEST_CASE("trainer rejects inconsistent options", "[train]") {
  auto train = nlpc::test::make_examples(16, 8);
  TinyModel tm(3);
  TrainerOptions o = base_options();
  CHECK_THROWS_WITH(Trainer(*tm.model, train, o, TrainerCallbacks{}), Catch::Contains("train.epochs or train.max_steps"));
  o.max_steps = 2;
  o.grad_accum = 0;
  CHECK_THROWS_AS(Trainer(*tm.model, train, o, TrainerCallbacks{}), nlpc::UsageError);
  o.grad_accum = 1;
  o.early_stopping_patience = 2;
  CHECK_THROWS_WITH(Trainer(*tm.model, train, o, TrainerCallbacks{}), Catch::Contains("needs validation data"));
}

TEST_CASE("predict_logits returns rows in example order", "[train]") {
  auto ex = nlpc::test::make_examples(21, 9);
  TinyModel tm(3);
  BatchingOptions bo;
  bo.batch_size = 4;
  torch::Tensor all = predict_logits(*tm.model, ex, bo, torch::kCPU);
  REQUIRE((all.sizes() == torch::IntArrayRef({21, 3})));
  Batcher single(&ex, BatchingOptions{}, 0);
  torch::NoGradGuard ng;
  for (int64_t i : {0, 7, 20}) {
    torch::Tensor one = tm.model->logits(single.collate({i}));
    CHECK((one[0] - all[i]).abs().max().item<double>() < 1e-5);
  }
}

TEST_CASE("multi-label training with BCE and pos_weight learns the markers", "[train]") {
  auto train = nlpc::test::make_examples(96, 10);
  auto valid = nlpc::test::make_examples(48, 11);
  // targets: marker of the label, plus marker 3 when the example's first token is even
  auto to_multi = [](std::vector<Example>& ex) {
    std::vector<std::vector<float>> all;
    for (auto& e : ex) {
      e.targets = {0, 0, 0};
      e.targets[e.label] = 1;
      if (e.ids[0] % 2 == 0 && e.ids[0] >= 10) {
        e.ids.push_back(3);
        e.targets[2] = 1;
      }
      e.label = -1;
      all.push_back(e.targets);
    }
    return all;
  };
  auto targets = to_multi(train);
  to_multi(valid);
  TinyModel tm(3, 0.0);
  TrainerOptions o = base_options();
  o.epochs = 12;
  o.loss.task = Task::kMultiLabel;
  o.loss.class_weights = torch::tensor(balanced_pos_weights(targets));
  TrainerCallbacks cb;
  cb.evaluate = [&](TrainableModel& m) {
    torch::Tensor logits = predict_logits(m, valid, BatchingOptions{}, torch::kCPU);  // [n, 3]
    int64_t ok = 0;
    for (size_t i = 0; i < valid.size(); ++i) {
      for (int64_t k = 0; k < 3; ++k) ok += (logits[i][k].item<float>() > 0) == (valid[i].targets[k] > 0.5f);
    }
    return MetricMap{{"label_accuracy", static_cast<double>(ok) / (3.0 * valid.size())}};
  };
  TrainResult r = Trainer(*tm.model, train, o, cb).train();
  CHECK(r.best_metric >= 0.95);
}
