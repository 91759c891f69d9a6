// [train] resume exactness: a run stopped mid-epoch (InterruptedError from a callback, a real
// SIGTERM, an interrupted evaluation, or a hard failure after the last periodic checkpoint) and
// resumed ends bit-identical to an uninterrupted run with the same seed.
// torch (glog) defines CHECK too: include it first so Catch2's CHECK wins.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <functional>
#include <map>

#include "nlpc/core/error.h"
#include "nlpc/core/signals.h"
#include "nlpc/train/trainer.h"
#include "../test_util.h"
#include "train_tiny_model.h"

using namespace nlpc::train;
using nlpc::test::TinyModel;

namespace {

struct Record {
  std::map<int64_t, double> losses;  // by update
  std::map<int64_t, MetricMap> evals;
  TrainResult result;
  torch::Tensor params;
};

struct Setup {
  std::vector<Example> train = nlpc::test::make_examples(64, 21);
  std::vector<Example> valid = nlpc::test::make_examples(24, 22);
  TrainerOptions options(const std::string& dir) const {
    TrainerOptions o;
    o.epochs = 3;  // 8 batches of 8 per epoch, 2 per update: 4 updates per epoch, 12 in all
    o.batching.batch_size = 8;
    o.grad_accum = 2;
    o.adamw.lr = 3e-2;
    o.warmup_steps = 2;
    o.eval_steps = 3;
    o.metric_for_best = "loss";
    o.greater_is_better = false;
    o.seed = 1234;
    o.checkpoint_dir = dir;
    o.progress = false;
    return o;
  }
  // Runs (or resumes) with model init `init_seed`; `hook` runs in on_step and evaluate.
  Record run(const TrainerOptions& o, uint64_t init_seed, bool resume,
             const std::function<void(const char* where, int64_t step)>& hook = nullptr) const {
    TinyModel tm(init_seed, /*dropout=*/0.2);
    Record rec;
    int64_t current = 0;
    TrainerCallbacks cb;
    cb.on_step = [&](const StepLog& s) {
      rec.losses[s.step] = s.loss;
      current = s.step;
      if (hook) hook("step", s.step);
    };
    cb.evaluate = [&](TrainableModel& m) {
      if (hook) hook("eval", current);
      torch::Tensor logits = predict_logits(m, valid, BatchingOptions{}, torch::kCPU);
      std::vector<int64_t> y;
      for (const auto& e : valid) y.push_back(e.label);
      return MetricMap{{"accuracy", nlpc::test::accuracy(logits, valid)},
                       {"loss", torch::nn::functional::cross_entropy(logits, torch::tensor(y)).item<double>()}};
    };
    cb.on_eval = [&](const EvalLog& e) { rec.evals[e.step] = e.metrics; };
    Trainer trainer(*tm.model, train, o, cb);
    rec.result = resume ? trainer.resume() : trainer.train();
    rec.params = nlpc::test::flat_params(*tm.model);
    return rec;
  }
};

void check_same_end(const Record& full, const Record& resumed, int64_t from_step) {
  CHECK(torch::equal(full.params, resumed.params));
  CHECK(resumed.result.steps == full.result.steps);
  CHECK(resumed.result.best_step == full.result.best_step);
  CHECK(resumed.result.best_metric == full.result.best_metric);
  CHECK(resumed.result.best_metrics == full.result.best_metrics);
  CHECK(resumed.result.last_metrics == full.result.last_metrics);
  CHECK(resumed.result.last_loss == full.result.last_loss);
  for (const auto& [step, loss] : resumed.losses) {
    CHECK(step > from_step);
    CHECK(loss == full.losses.at(step));
  }
  CHECK(static_cast<int64_t>(resumed.losses.size()) == full.result.steps - from_step);
  for (const auto& [step, m] : resumed.evals) CHECK(m == full.evals.at(step));
}

// Resets the interrupt flag even when a check fails.
struct InterruptReset {
  ~InterruptReset() { nlpc::reset_interrupted(); }
};

}  // namespace

TEST_CASE("resume after an InterruptedError mid-epoch matches the uninterrupted run", "[train]") {
  Setup s;
  nlpc::test::TempDir a, b;
  Record full = s.run(s.options(a.file("ckpt")), 5, false);
  REQUIRE(full.result.steps == 12);
  REQUIRE(full.evals.size() == 6);  // every 3 updates and at epoch ends: 3, 4, 6, 8, 9, 12
  // update 6 = middle of epoch 2 (batches 3-4 of 8)
  auto stop_at_6 = [](const char* where, int64_t step) {
    if (std::string(where) == "step" && step == 6) throw nlpc::InterruptedError(SIGTERM);
  };
  CHECK_THROWS_AS(s.run(s.options(b.file("ckpt")), 5, false, stop_at_6), nlpc::InterruptedError);
  Record resumed = s.run(s.options(b.file("ckpt")), 99, true);  // other init: parameters come from the state
  check_same_end(full, resumed, 6);
}

TEST_CASE("resume after a real SIGTERM matches the uninterrupted run", "[train]") {
  Setup s;
  nlpc::test::TempDir a, b;
  Record full = s.run(s.options(a.file("ckpt")), 5, false);
  nlpc::install_signal_handlers();
  InterruptReset reset;
  auto term_at_7 = [](const char* where, int64_t step) {
    if (std::string(where) == "step" && step == 7) std::raise(SIGTERM);
  };
  CHECK_THROWS_AS(s.run(s.options(b.file("ckpt")), 5, false, term_at_7), nlpc::InterruptedError);
  nlpc::reset_interrupted();
  Record resumed = s.run(s.options(b.file("ckpt")), 99, true);
  check_same_end(full, resumed, 7);
}

TEST_CASE("an evaluation interrupted half-way is redone on resume", "[train]") {
  Setup s;
  nlpc::test::TempDir a, b;
  Record full = s.run(s.options(a.file("ckpt")), 5, false);
  auto stop_in_eval_6 = [](const char* where, int64_t step) {
    if (std::string(where) == "eval" && step == 6) throw nlpc::InterruptedError(SIGINT);
  };
  CHECK_THROWS_AS(s.run(s.options(b.file("ckpt")), 5, false, stop_in_eval_6), nlpc::InterruptedError);
  Record resumed = s.run(s.options(b.file("ckpt")), 99, true);
  CHECK(resumed.evals.count(6) == 1);  // the pending evaluation of update 6 ran first
  check_same_end(full, resumed, 6);
}

TEST_CASE("a hard failure resumes from the last periodic checkpoint, same end", "[train]") {
  Setup s;
  nlpc::test::TempDir a, b;
  TrainerOptions oa = s.options(a.file("ckpt"));
  oa.eval_steps = 0;  // checkpoints only from save_steps and epoch ends (evaluations)
  oa.save_steps = 5;
  Record ref = s.run(oa, 5, false);
  TrainerOptions o = oa;
  o.checkpoint_dir = b.file("ckpt");
  // killed at update 7 without saving (a SIGKILL): the state on disk is update 5's
  auto crash_at_7 = [](const char* where, int64_t step) {
    if (std::string(where) == "step" && step == 7) throw std::runtime_error("simulated kill");
  };
  CHECK_THROWS_AS(s.run(o, 5, false, crash_at_7), std::runtime_error);
  Record resumed = s.run(o, 99, true);
  check_same_end(ref, resumed, 5);
}

TEST_CASE("resume refuses different settings or a missing state", "[train]") {
  Setup s;
  nlpc::test::TempDir a;
  TrainerOptions o = s.options(a.file("ckpt"));
  CHECK_THROWS_WITH(s.run(o, 5, true), Catch::Contains("does not exist"));
  o.max_steps = 2;
  s.run(o, 5, false);
  TrainerOptions changed = s.options(a.file("ckpt"));
  changed.max_steps = 2;
  changed.batching.batch_size = 4;
  try {
    s.run(changed, 5, true);
    FAIL("expected a UsageError");
  } catch (const nlpc::UsageError& e) {
    CHECK_THAT(e.what(), Catch::Contains("batch_size: checkpoint 8, now 4"));
    CHECK_THAT(e.what(), !Catch::Contains("data_fingerprint"));
  }
}

TEST_CASE("resume keeps best metric, patience and best parameters from before the interruption", "[train]") {
  auto train = nlpc::test::make_examples(64, 23);
  const std::vector<double> script = {0.5, 0.7, 0.6, 0.65, 0.9};
  auto run = [&](const std::string& dir, bool resume, size_t& calls, int64_t stop_at) {
    TinyModel tm(resume ? 77 : 5);
    TrainerOptions o;
    o.epochs = 5;
    o.eval_steps = 1;
    o.metric_for_best = "f1";
    o.early_stopping_patience = 2;
    o.checkpoint_dir = dir;
    o.progress = false;
    TrainerCallbacks cb;
    cb.evaluate = [&](TrainableModel&) { return MetricMap{{"f1", script.at(calls++)}}; };
    cb.on_step = [&](const StepLog& s) {
      if (s.step == stop_at) throw nlpc::InterruptedError(SIGTERM);
    };
    Trainer t(*tm.model, train, o, cb);
    TrainResult r = resume ? t.resume() : t.train();
    return std::make_pair(r, nlpc::test::flat_params(*tm.model));
  };
  nlpc::test::TempDir a, b;
  size_t calls_full = 0, calls = 0;
  auto [full, full_params] = run(a.file("ckpt"), false, calls_full, -1);
  CHECK(full.stopped_early);
  CHECK(full.steps == 4);
  CHECK(full.best_step == 2);
  CHECK_THROWS_AS(run(b.file("ckpt"), false, calls, 3), nlpc::InterruptedError);
  CHECK(calls == 2);
  auto [resumed, resumed_params] = run(b.file("ckpt"), true, calls, -1);
  CHECK(calls == 4);  // the pending evaluation of update 3, then update 4's
  CHECK(resumed.stopped_early);
  CHECK(resumed.steps == 4);
  CHECK(resumed.best_step == 2);
  CHECK(resumed.best_metric == 0.7);
  CHECK(resumed.evals.size() == 2);
  CHECK(resumed.evals[1].patience_used == 2);
  CHECK(torch::equal(full_params, resumed_params));  // best parameters read from best_params.bin
}
