#pragma once
// The one training loop for libtorch models (classification, multi-label; seq2seq through a model's
// own loss()).
//
// How the lead plugs things in (see tests/unit/test_train_trainer.cpp for a complete example):
//
//   nlpc::train::seed_everything(opts.seed);       // BEFORE building the model: random init uses it
//   auto model = /* TrainableModel, e.g. ModuleModel(bert, forward) */;  // already on o.device
//   std::vector<Example> train_ex = ..., valid_ex = ...;   // tokenized by the text area
//   TrainerOptions o;  o.epochs = 3;  o.adamw.lr = 5e-5;  o.checkpoint_dir = run_dir + "/checkpoints";
//   o.loss.task = Task::kMultiLabel;                 // for `task: multilabel` (Example::targets)
//   o.metric_for_best = "accuracy";  o.greater_is_better = true;  o.early_stopping_patience = 3;
//   o.loss.class_weights = torch::tensor(balanced_class_weights(train_labels, k));  // optional
//   TrainerCallbacks cb;
//   cb.evaluate = [&](TrainableModel& m) {           // valid metrics; called in eval mode + NoGrad
//     torch::Tensor logits = predict_logits(m, valid_ex, o.batching, o.device);  // [n, k]
//     return metrics_from_logits(logits, valid_labels);   // eval area: {"accuracy": .., "f1_macro": ..}
//   };
//   cb.on_step = [&](const StepLog& s) { run.log_metric("train/loss", s.loss, s.step);
//                                        run.log_metric("train/lr", s.lr, s.step); };
//   cb.on_eval = [&](const EvalLog& e) { for (auto& [k, v] : e.metrics) run.log_metric("valid/" + k, v, e.step); };
//   cb.save_model = [&](CheckpointKind kind, TrainableModel& m) {
//     save_hf_folder(m, kind == CheckpointKind::kBest ? run_dir + "/artifacts/model" : run_dir + "/checkpoints/last");
//   };
//   Trainer trainer(model, train_ex, o, cb);
//   TrainResult r = resume ? trainer.resume() : trainer.train();
//   // After train(): the model holds the best parameters (o.load_best_at_end) -> test evaluation.
//   // On --resume, build the model and the examples exactly as in the first run (the parameters
//   // come from the state; settings or data that differ are refused with the differences named).
//   // main() must have called nlpc::install_signal_handlers() for SIGTERM to stop training cleanly.
//
// Determinism: same seed, same thread count (nlpc::set_num_threads), same data and options give
// bit-identical losses and parameters on CPU. seed_everything seeds torch's default CPU (and CUDA)
// generator; batch order is a pure function of (seed, epoch); dropout draws from torch's default
// generator, whose state is saved with each checkpoint. On CUDA, bit-exactness additionally
// needs deterministic kernels (not enforced here).
//
// Resume: with checkpoint_dir set, `<checkpoint_dir>/trainer_state.bin` (written atomically) holds
// the parameters, AdamW moments, the update count, the RNG state, the data position (epoch,
// batch), best metric, patience counter and pending evaluation; resume() continues exactly where it
// was written, so an interrupted run resumed ends with the same parameters and metrics as an
// uninterrupted one. The state is written every `save_steps` updates, after each evaluation, at
// epoch ends, at the end, and when an InterruptedError (SIGINT/SIGTERM through
// nlpc::check_interrupted(), or thrown by a callback) stops training -- then it is rethrown.
// A non-finite loss or gradient norm stops training with a RuntimeError naming the update, and
// leaves the last written (good) state and model folders untouched.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "nlpc/train/batch.h"
#include "nlpc/train/model.h"
#include "nlpc/train/optim.h"

namespace nlpc::train {

class ExampleSource;
using MetricMap = std::map<std::string, double>;

struct TrainerOptions {
  // Length of training: stops at whichever of `epochs` (> 0) and `max_steps` (> 0) comes first;
  // the schedule's total is that number of optimizer updates.
  int64_t epochs = 3;
  int64_t max_steps = 0;
  BatchingOptions batching;   // batch_size is the micro-batch; an update sees batch_size * grad_accum
  int64_t grad_accum = 1;
  uint64_t seed = 42;

  AdamWOptions adamw;         // adamw.lr is the peak learning rate
  ScheduleKind schedule = ScheduleKind::kLinear;
  int64_t warmup_steps = 0;   // > 0 wins over warmup_ratio
  double warmup_ratio = 0.0;
  double max_grad_norm = 1.0;  // 0 disables clipping (the norm is still computed and checked)

  LossOptions loss;
  // Parameters whose name starts with one of these are frozen (requires_grad false, not in the
  // optimizer), e.g. {"bert.embeddings.", "bert.encoder."}. A prefix matching nothing is an error.
  std::vector<std::string> freeze_prefixes;

  // Evaluation (needs TrainerCallbacks::evaluate): every eval_steps updates (0 = never mid-epoch)
  // and at each epoch end when eval_at_epoch_end.
  int64_t eval_steps = 0;
  bool eval_at_epoch_end = true;
  std::string metric_for_best;      // e.g. "accuracy"; empty = the first metric in the map
  bool greater_is_better = true;    // mode max (true) / min (false)
  int64_t early_stopping_patience = 0;   // evaluations without improvement; 0 = no early stopping
  double early_stopping_threshold = 0.0; // an improvement must exceed this
  bool load_best_at_end = true;     // restore the best parameters when training ends

  std::string checkpoint_dir;       // empty: no resume state on disk (best kept in memory)
  int64_t save_steps = 0;           // also write resume state every N updates (0 = only at evals/epochs)

  // Under a launcher: gradients are allreduced in buckets of about this many bytes (the first at
  // most 1 MB), each started as soon as backward has produced its gradients (DDP's bucket_cap_mb).
  int64_t dist_bucket_bytes = 25 << 20;

  torch::Device device = torch::kCPU;
  bool progress = true;             // nlpc::ProgressBar on stderr
};

struct StepLog {
  int64_t step = 0;      // 1-based index of the update just made
  int64_t total_steps = 0;
  double epoch = 0;      // fractional epoch, e.g. 1.25
  double loss = 0;       // mean loss over the update's micro-batches
  double lr = 0;         // learning rate used by this update
  double grad_norm = 0;  // before clipping
  double samples_per_s = 0;
  int64_t samples = 0;   // examples in this update
};

struct EvalLog {
  int64_t step = 0;
  double epoch = 0;
  MetricMap metrics;
  bool is_best = false;
  double best_metric = 0;
  int64_t patience_used = 0;
};

enum class CheckpointKind { kBest, kLast };

struct TrainerCallbacks {
  // Metrics on the validation set. Called with the model in eval mode under torch::NoGradGuard.
  std::function<MetricMap(TrainableModel&)> evaluate;
  std::function<void(const StepLog&)> on_step;   // after every update
  std::function<void(const EvalLog&)> on_eval;   // after every evaluation
  // Save the model as a folder: kBest when the best metric improves (or, without evaluation, at the
  // end), kLast at the end of training and when interrupted.
  std::function<void(CheckpointKind, TrainableModel&)> save_model;
  // Under a launcher: true when `evaluate` computes through predict_logits (and does nothing else
  // collective). Every rank then runs it on its share of the validation batches, predict_logits
  // gathers the logits, and each rank computes the metrics of the whole set. false: rank 0 runs it
  // alone and the others wait for its metrics.
  bool shard_evaluation = false;
};

struct TrainResult {
  int64_t steps = 0;               // updates done in total (including before a resume)
  int64_t total_steps = 0;
  double epochs = 0;               // fractional epochs done
  bool stopped_early = false;
  bool has_best = false;
  double best_metric = 0;
  int64_t best_step = 0;
  MetricMap best_metrics;          // the evaluation that was best
  MetricMap last_metrics;          // the last evaluation
  double last_loss = 0;            // loss of the last update
  double samples_per_s = 0;        // training throughput of this session
  std::vector<EvalLog> evals;      // evaluations made in this session
};

// Seeds torch's default CPU and CUDA generators (call before building the model).
void seed_everything(uint64_t seed);

// Logits for every example, in example order: [n, ...] on the CPU (float32). Switches the model
// to eval mode (and leaves it there; the trainer switches back) and runs under NoGradGuard;
// batches are length-sorted when batching.bucket_window > 1. Inside a sharded evaluation (see
// TrainerCallbacks::shard_evaluation) rank r runs batches r, r+W, ... and every rank gets all rows.
torch::Tensor predict_logits(TrainableModel& model, const std::vector<Example>& examples,
                             const BatchingOptions& batching, const torch::Device& device);

class Trainer {
 public:
  // `model` and `train_examples` must outlive the trainer. Throws UsageError for inconsistent
  // options (batch size, accumulation, a metric or a freeze prefix that does not exist...).
  Trainer(TrainableModel& model, const std::vector<Example>& train_examples, TrainerOptions options,
          TrainerCallbacks callbacks);
  // Streamed training data (stream.h): batches come from `source` through a shuffle buffer of
  // options.batching.shuffle_buffer examples; the stream position is part of the resume state.
  Trainer(TrainableModel& model, ExampleSource& source, TrainerOptions options, TrainerCallbacks callbacks);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains from scratch (the model's current parameters, a fresh optimizer; torch's RNG is seeded
  // with options.seed).
  TrainResult train();
  // Loads <checkpoint_dir>/trainer_state.bin and continues. Throws UsageError when there is no
  // state or it was written with different options/data/parameters (naming the difference).
  TrainResult resume();
  // Path of the resume state file ("" without checkpoint_dir).
  std::string state_path() const;
  int64_t total_steps() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nlpc::train
