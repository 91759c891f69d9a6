#pragma once
// AdamW with parameter groups and learning-rate schedules, matching PyTorch/Hugging Face:
//  - AdamW::step is torch.optim.AdamW's single-tensor update (decoupled weight decay
//    p *= 1 - lr*wd, bias-corrected moments, eps added after the bias-corrected sqrt).
//  - Weight decay groups follow HF Trainer: no decay on biases and normalization weights.
//  - LrSchedule reproduces transformers' get_{linear,cosine,constant}_schedule_with_warmup, with
//    the same convention: update number u (0-based) uses base_lr * factor(u), so with warmup the
//    first update has lr 0.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "nlpc/train/model.h"

namespace nlpc::train {

// True for parameters that get no weight decay, as HF Trainer decides: a name containing "bias"
// anywhere (HF tests the substring, so T5's relative_attention_bias is excluded too), and weights
// of normalization layers, recognized by a module name containing "norm" case-insensitively
// (LayerNorm, layer_norm, final_layer_norm, sa_layer_norm, T5's layer_norm). HF decides the latter
// by module type; a norm module whose name lacks "norm" (e.g. GPT-2's ln_f) is NOT matched.
bool no_weight_decay(const std::string& name);

struct AdamWOptions {
  double lr = 5e-5;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class AdamW {
 public:
  struct Group {
    std::vector<NamedParameter> params;
    double weight_decay = 0.0;
  };
  // Splits the trainable parameters (requires_grad) into a decay group and a no-decay group.
  AdamW(const std::vector<NamedParameter>& params, AdamWOptions options);

  // One update with learning rate `lr` (the schedule's value for this update). Parameters
  // without a gradient are skipped (their state does not advance), as in PyTorch.
  void step(double lr);
  // Sets every gradient to undefined (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();
  const std::vector<Group>& groups() const { return groups_; }
  std::vector<torch::Tensor> parameters() const;

  // Optimizer state per parameter name: "<name>/exp_avg", "<name>/exp_avg_sq", "<name>/step".
  std::vector<NamedParameter> state() const;
  // Restores state(); throws RuntimeError naming a missing entry or a shape mismatch.
  void load_state(const std::vector<NamedParameter>& state);
  const AdamWOptions& options() const { return options_; }

 private:
  struct Slot {
    torch::Tensor exp_avg;
    torch::Tensor exp_avg_sq;
    int64_t step = 0;
  };
  AdamWOptions options_;
  std::vector<Group> groups_;
  std::vector<Slot> slots_;  // flattened in group order
};

enum class ScheduleKind { kLinear, kCosine, kConstant };
// "linear" | "cosine" | "constant"; throws UsageError naming the valid values.
ScheduleKind parse_schedule(const std::string& name);
std::string schedule_name(ScheduleKind kind);

class LrSchedule {
 public:
  LrSchedule(ScheduleKind kind, double base_lr, int64_t warmup_steps, int64_t total_steps);
  // Learning rate used by update number `step` (0-based).
  double lr(int64_t step) const { return base_lr_ * factor(step); }
  double factor(int64_t step) const;
  int64_t warmup_steps() const { return warmup_; }
  int64_t total_steps() const { return total_; }

 private:
  ScheduleKind kind_;
  double base_lr_;
  int64_t warmup_;
  int64_t total_;
};

// warmup_steps when > 0, else ceil(warmup_ratio * total_steps) (HF TrainingArguments).
int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps);

// L2 norm of all gradients (parameters without a gradient are skipped); when max_norm > 0 and the
// norm exceeds it, gradients are scaled by max_norm / (norm + 1e-6) as torch's clip_grad_norm_.
// Returns the norm before clipping (may be NaN/Inf: the caller checks).
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace nlpc::train
