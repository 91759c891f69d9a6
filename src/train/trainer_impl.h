#pragma once
// Private state of nlpc::train::Trainer, shared by trainer.cpp (the loop) and
// trainer_checkpoint.cpp (resume state, best parameters).
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "nlpc/train/stream.h"
#include "nlpc/train/trainer.h"

namespace nlpc::dist {
class Group;
}

namespace nlpc::train {

// While every rank runs the evaluate callback (TrainerCallbacks::shard_evaluation), the group
// predict_logits shards over; nullptr otherwise.
dist::Group*& sharded_evaluation_group();
struct ShardedEvaluation {
  explicit ShardedEvaluation(dist::Group* g) { sharded_evaluation_group() = g; }
  ~ShardedEvaluation() { sharded_evaluation_group() = nullptr; }
  ShardedEvaluation(const ShardedEvaluation&) = delete;
  ShardedEvaluation& operator=(const ShardedEvaluation&) = delete;
};

// This rank's contiguous share [begin, end) of a global batch of n examples ([0, n) without a group).
std::pair<size_t, size_t> local_range(size_t n, const dist::Group* group);

struct Trainer::Impl {
  // Exactly one of `examples` (in memory) and `source` (streamed) is given.
  Impl(TrainableModel& model, const std::vector<Example>* examples, ExampleSource* source, TrainerOptions options,
       TrainerCallbacks callbacks);
  ~Impl();

  // --- configuration (fixed for the run) ---
  TrainableModel& model;
  TrainerOptions opts;
  TrainerCallbacks cb;
  std::unique_ptr<Batcher> batcher;        // in-memory examples
  std::unique_ptr<StreamBatcher> stream;   // streamed examples
  std::vector<NamedParameter> params;  // every parameter, model order
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  dist::Group* group = nullptr;  // the launcher's process group; nullptr in a single process
  class OverlappedReducer;       // trainer_dist.cpp
  std::unique_ptr<OverlappedReducer> reducer;
  double comm_seconds = 0;       // spent in gradient reductions this session  (waiting after backward: the part not overlapped)
  int64_t comm_updates = 0;      // updates reduced this session
  int64_t batches_per_epoch = 0;
  int64_t updates_per_epoch = 0;
  int64_t total_steps = 0;

  // --- progress (saved in the resume state) ---
  int64_t step = 0;           // updates done
  DataPosition pos;           // next batch to consume (always at an update boundary)
  bool pending_eval = false;  // an evaluation is due for `step` and not done yet
  int64_t last_eval_step = -1;
  bool stopped_early = false;
  bool has_best = false;
  double best_metric = 0;
  int64_t best_step = 0;
  int64_t patience_used = 0;
  MetricMap best_metrics;
  MetricMap last_metrics;
  double last_loss = 0;
  torch::Tensor rng_state;        // CPU generator at the last consistent point
  torch::Tensor cuda_rng_state;   // idem for CUDA (undefined on CPU-only runs)
  std::vector<torch::Tensor> best_in_memory;  // without checkpoint_dir

  // --- this session ---
  std::vector<EvalLog> evals;
  int64_t session_samples = 0;
  double session_seconds = 0;
  int64_t plan_epoch = -1;
  BatchPlan plan;

  // loop (trainer.cpp)
  TrainResult run();
  void update();  // one optimizer update (grad_accum micro-batches)
  void evaluate();
  bool finished() const { return stopped_early || step >= total_steps; }
  double epoch_progress() const;
  const BatchPlan& plan_for(int64_t epoch);
  // The examples of global batch `p` and their indices (in the data set, or in the batch when streamed).
  void global_batch(const DataPosition& p, std::vector<const Example*>& examples, std::vector<int64_t>& indices);
  int64_t num_examples() const;
  TrainResult result() const;

  // several processes (trainer_dist.cpp)
  bool main_rank() const;
  std::string reduction_summary() const;
  std::vector<torch::Tensor> trainable_in_model_order() const;
  void arm_reduction();                         // before the update's last backward: reduce as gradients come
  double reduce_gradients(double local_loss);  // sums gradients over ranks; returns the summed loss
  void broadcast_parameters();
  MetricMap shared_metrics(const std::function<MetricMap()>& compute);  // rank 0 computes
  void share_resume_state();

  // checkpoints (trainer_checkpoint.cpp)
  void snapshot_rng();
  void restore_rng();
  nlohmann::json fingerprint() const;
  void save_state();                 // no-op without checkpoint_dir
  void load_state();                 // throws UsageError on mismatch
  void save_best_params();
  void load_best_params();
  std::string state_path() const;
  std::string best_path() const;
  std::string last_saved_description() const;
  int64_t last_saved_step = -1;
};

}  // namespace nlpc::train
