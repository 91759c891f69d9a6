#pragma once
// Pieces shared by the libtorch families of `nlpc train` (classifiers, T5 summarizers, Whisper).
#include <cstdint>

#include "nlpc/runs/run.h"
#include "nlpc/train/train_config.h"
#include "nlpc/train/trainer.h"

namespace nlpc {

// TrainerOptions from cfg.train: epochs, max_steps, batch size, grad accumulation, seed, AdamW,
// schedule and warmup, clipping, eval_every, patience; checkpoints in <run>/checkpoints on `device`.
// The caller sets what is its own (loss, frozen parameters, the best metric, eval at epoch ends).
train::TrainerOptions trainer_options(const TrainConfig& cfg, const runs::Run& run, torch::Device device,
                                      int64_t pad_id);

// Logs train/loss and train/lr into `run` every cfg.train.log_every steps (and at the last step),
// and valid/<metric> at each evaluation.
void log_curves(train::TrainerCallbacks& cb, const TrainConfig& cfg, runs::Run& run);

}  // namespace nlpc
