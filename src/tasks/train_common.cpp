#include "nlpc/tasks/train_common.h"

#include <filesystem>

namespace nlpc {

train::TrainerOptions trainer_options(const TrainConfig& cfg, const runs::Run& run, torch::Device device,
                                      int64_t pad_id) {
  train::TrainerOptions o;
  o.epochs = cfg.train.epochs;  // training stops at whichever of epochs and max_steps comes first
  o.max_steps = cfg.train.max_steps;
  o.batching.batch_size = cfg.train.batch_size;
  o.batching.pad_id = pad_id;
  o.batching.bucket_window = cfg.train.bucket_window;
  o.grad_accum = cfg.train.grad_accum;
  o.seed = static_cast<uint64_t>(cfg.train.seed);
  o.adamw.lr = cfg.train.lr;
  o.adamw.weight_decay = cfg.train.weight_decay;
  o.schedule = train::parse_schedule(cfg.train.schedule);
  o.warmup_steps = cfg.train.warmup_steps;
  o.warmup_ratio = cfg.train.warmup_ratio;
  o.max_grad_norm = cfg.train.grad_clip;
  o.eval_steps = cfg.train.eval_every;
  o.early_stopping_patience = cfg.train.patience;
  o.checkpoint_dir = (std::filesystem::path(run.dir()) / "checkpoints").string();
  o.device = device;
  o.dist_bucket_bytes = cfg.train.dist_bucket_mb << 20;
  return o;
}

void log_curves(train::TrainerCallbacks& cb, const TrainConfig& cfg, runs::Run& run) {
  const int64_t every = cfg.train.log_every;
  cb.on_step = [&run, every](const train::StepLog& s) {
    if (every > 0 && (s.step % every == 0 || s.step == s.total_steps)) {
      run.log_metric("train/loss", s.loss, s.step);
      run.log_metric("train/lr", s.lr, s.step);
    }
  };
  cb.on_eval = [&run](const train::EvalLog& e) {
    for (const auto& [k, v] : e.metrics) run.log_metric("valid/" + k, v, e.step);
  };
}

}  // namespace nlpc
