// The training loop: micro-batches -> accumulated gradients -> clipped AdamW update -> schedule ->
// evaluation / early stopping / checkpoints. Resume state handling is in trainer_checkpoint.cpp.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/dist/dist.h"
#include "trainer_impl.h"

namespace nlpc::train {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void apply_freeze(std::vector<NamedParameter>& params, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    int64_t matched = 0;
    for (auto& [name, p] : params) {
      if (name.compare(0, prefix.size(), prefix) == 0) {
        p.requires_grad_(false);
        ++matched;
      }
    }
    if (matched == 0) {
      std::string some;
      for (size_t i = 0; i < params.size() && i < 6; ++i) some += (i ? ", " : "") + params[i].first;
      throw UsageError("freeze prefix '" + prefix + "' matches no parameter; parameter names look like: " +
                       some);
    }
  }
}

// Restores train mode when an evaluation ends, even by an exception.
struct TrainModeGuard {
  TrainableModel& m;
  ~TrainModeGuard() { m.train(true); }
};

std::string format_lr(double lr) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2e", lr);
  return buf;
}

}  // namespace

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);  // seeds the CPU generator and, when present, every CUDA generator
}

dist::Group*& sharded_evaluation_group() {
  thread_local dist::Group* group = nullptr;
  return group;
}

torch::Tensor predict_logits(TrainableModel& model, const std::vector<Example>& examples,
                             const BatchingOptions& batching, const torch::Device& device) {
  BatchingOptions o = batching;
  o.shuffle = false;
  Batcher batcher(&examples, o, 0);
  model.train(false);
  torch::NoGradGuard no_grad;
  dist::Group* group = sharded_evaluation_group();
  const BatchPlan plan = batcher.eval_plan();
  torch::Tensor out;
  for (size_t i = 0; i < plan.size(); ++i) {
    if (group != nullptr && static_cast<int>(i % static_cast<size_t>(group->world_size())) != group->rank()) continue;
    check_interrupted();
    const auto& idx = plan[i];
    Batch b = batcher.collate(idx).to(device);
    torch::Tensor logits = model.logits(b).to(torch::kCPU, torch::kFloat32);  // [b, ...]
    if (!out.defined()) {
      std::vector<int64_t> shape = logits.sizes().vec();
      shape[0] = static_cast<int64_t>(examples.size());
      out = torch::zeros(shape, torch::kFloat32);
    }
    out.index_copy_(0, torch::tensor(idx, torch::kInt64), logits);
  }
  if (group != nullptr) {
    // Rank 0 (which always has batch 0) tells the shape; each row is non-zero on one rank only, so
    // the sum over ranks is every rank's rows, exactly.
    nlohmann::json shape = group->is_main() ? nlohmann::json(out.sizes().vec()) : nlohmann::json();
    shape = nlohmann::json::parse(group->broadcast_bytes(shape.dump(), 0, "the validation logits' shape"));
    if (!out.defined()) out = torch::zeros(shape.get<std::vector<int64_t>>(), torch::kFloat32);
    std::vector<torch::Tensor> t{out};
    group->allreduce_sum(t, "the validation logits");
    out = t[0];
  }
  return out;
}

Trainer::Impl::Impl(TrainableModel& m, const std::vector<Example>* ex, ExampleSource* source, TrainerOptions options,
                    TrainerCallbacks callbacks)
    : model(m), opts(std::move(options)), cb(std::move(callbacks)), group(dist::current()) {
  if (ex != nullptr) {
    batcher = std::make_unique<Batcher>(ex, opts.batching, opts.seed);
  } else {
    stream = std::make_unique<StreamBatcher>(*source, opts.batching, opts.seed);
  }
  if (opts.grad_accum < 1) throw UsageError("train.grad_accum must be >= 1, got " + std::to_string(opts.grad_accum));
  if (opts.epochs < 0 || opts.max_steps < 0) throw UsageError("train.epochs and train.max_steps must be >= 0");
  if (opts.epochs == 0 && opts.max_steps == 0) {
    throw UsageError("set train.epochs or train.max_steps (both are 0: nothing to train)");
  }
  if (opts.adamw.lr <= 0) throw UsageError("train.lr must be positive, got " + std::to_string(opts.adamw.lr));
  if (opts.early_stopping_patience > 0 && !cb.evaluate) {
    throw UsageError("early stopping needs validation data (an evaluate callback)");
  }
  params = model.named_parameters();
  if (params.empty()) throw UsageError("the model has no parameters to train");
  apply_freeze(params, opts.freeze_prefixes);
  optimizer = std::make_unique<AdamW>(params, opts.adamw);
  if (group != nullptr && cb.evaluate) {
    spdlog::info("validation {}", cb.shard_evaluation ? "sharded over the " + std::to_string(group->world_size()) + " ranks"
                                                      : "on rank 0, the other ranks wait for its metrics");
  }
  batches_per_epoch = batcher ? batcher->batches_per_epoch() : stream->batches_per_epoch();
  updates_per_epoch = ceil_div(batches_per_epoch, opts.grad_accum);
  total_steps = opts.epochs > 0 ? opts.epochs * updates_per_epoch : opts.max_steps;
  if (opts.max_steps > 0) total_steps = std::min(total_steps, opts.max_steps);
  const int64_t warmup = resolve_warmup_steps(opts.warmup_steps, opts.warmup_ratio, total_steps);
  schedule = std::make_unique<LrSchedule>(opts.schedule, opts.adamw.lr, warmup, total_steps);
}

const BatchPlan& Trainer::Impl::plan_for(int64_t epoch) {
  if (plan_epoch != epoch) {
    plan = batcher->plan(epoch);
    plan_epoch = epoch;
  }
  return plan;
}

int64_t Trainer::Impl::num_examples() const { return batcher ? batcher->num_examples() : stream->num_examples(); }

void Trainer::Impl::global_batch(const DataPosition& p, std::vector<const Example*>& examples,
                                 std::vector<int64_t>& indices) {
  examples.clear();
  indices.clear();
  if (batcher) {
    indices = plan_for(p.epoch)[static_cast<size_t>(p.batch)];
    for (int64_t i : indices) examples.push_back(&batcher->example(i));
  } else {
    for (const Example& e : stream->batch(p)) {
      indices.push_back(static_cast<int64_t>(examples.size()));
      examples.push_back(&e);
    }
  }
}

double Trainer::Impl::epoch_progress() const {
  return static_cast<double>(pos.epoch) + static_cast<double>(pos.batch) / static_cast<double>(batches_per_epoch);
}

void Trainer::Impl::update() {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t first = pos.batch;
  const int64_t last = std::min<int64_t>(first + opts.grad_accum, batches_per_epoch);
  const double n_micro = static_cast<double>(last - first);
  optimizer->zero_grad();
  model.train(true);
  torch::Tensor loss_sum;
  int64_t samples = 0;
  std::vector<const Example*> global;
  std::vector<int64_t> indices;
  for (int64_t b = first; b < last; ++b) {
    // Under a launcher each rank takes its slice of the global batch, weighted by its share.
    global_batch(DataPosition{pos.epoch, b}, global, indices);
    const auto [begin, end] = local_range(global.size(), group);
    samples += static_cast<int64_t>(global.size());
    if (begin == end) continue;
    const double share = static_cast<double>(end - begin) / static_cast<double>(global.size());
    const auto at = [](size_t i) { return static_cast<std::ptrdiff_t>(i); };
    Batch batch = collate_examples({global.begin() + at(begin), global.begin() + at(end)},
                                   {indices.begin() + at(begin), indices.begin() + at(end)}, opts.batching)
                      .to(opts.device);
    torch::Tensor loss = model.loss(batch, opts.loss);  // scalar
    if (loss.numel() != 1) {
      throw RuntimeError("the model's loss() must return a scalar, got " + std::to_string(loss.numel()) + " values");
    }
    if (group && b == last - 1) arm_reduction();  // the update's last backward overlaps the allreduce
    (group ? loss * (share / n_micro) : loss / n_micro).backward();
    const torch::Tensor l = group ? loss.detach() * share : loss.detach();
    loss_sum = loss_sum.defined() ? loss_sum + l : l;
  }
  double loss_value = loss_sum.defined() ? loss_sum.item<double>() : 0.0;
  if (group) loss_value = reduce_gradients(loss_value);
  loss_value /= n_micro;
  auto non_finite = [&](const std::string& what, double v) {
    std::ostringstream os;
    os << "non-finite " << what << " (" << v << ") at update " << (step + 1) << " of " << total_steps
       << " (epoch " << pos.epoch + 1 << ", batches " << first + 1 << "-" << last << " of "
       << batches_per_epoch << "); training stopped before applying it. " << last_saved_description()
       << " Lower train.lr, keep gradient clipping on (train.max_grad_norm), or check the data.";
    return RuntimeError(os.str());
  };
  if (!std::isfinite(loss_value)) throw non_finite("training loss", loss_value);
  const double norm = clip_grad_norm(optimizer->parameters(), opts.max_grad_norm);
  if (!std::isfinite(norm)) throw non_finite("gradient norm", norm);
  const double lr = schedule->lr(step);
  optimizer->step(lr);
  optimizer->zero_grad();

  ++step;
  pos.batch = last;
  const bool epoch_end = pos.batch >= batches_per_epoch;
  if (epoch_end) pos = DataPosition{pos.epoch + 1, 0};
  last_loss = loss_value;
  session_samples += samples;
  session_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  snapshot_rng();

  StepLog log;
  log.step = step;
  log.total_steps = total_steps;
  log.epoch = epoch_progress();
  log.loss = loss_value;
  log.lr = lr;
  log.grad_norm = norm;
  log.samples = samples;
  log.samples_per_s = session_seconds > 0 ? static_cast<double>(session_samples) / session_seconds : 0;

  // Decided before on_step: if a callback interrupts from here on, the saved state says an
  // evaluation is due and resume() runs it first, as the uninterrupted run does.
  const bool by_steps = opts.eval_steps > 0 && step % opts.eval_steps == 0;
  const bool by_epoch = epoch_end && opts.eval_at_epoch_end;
  pending_eval = cb.evaluate && (by_steps || by_epoch || step >= total_steps);
  if (cb.on_step) cb.on_step(log);
  if (pending_eval) {
    evaluate();
  } else if ((opts.save_steps > 0 && step % opts.save_steps == 0) || epoch_end) {
    save_state();
  }
}

void Trainer::Impl::evaluate() {
  MetricMap metrics = shared_metrics([&] {
    TrainModeGuard guard{model};
    model.train(false);
    torch::NoGradGuard no_grad;
    return cb.evaluate(model);
  });
  if (metrics.empty()) throw RuntimeError("the evaluate callback returned no metrics");
  const std::string key = opts.metric_for_best.empty() ? metrics.begin()->first : opts.metric_for_best;
  auto it = metrics.find(key);
  if (it == metrics.end()) {
    std::string names;
    for (const auto& [k, v] : metrics) names += (names.empty() ? "" : ", ") + k;
    throw UsageError("metric for best model '" + key + "' is not among the validation metrics: " + names);
  }
  const double v = it->second;
  bool improved = false;
  if (std::isfinite(v)) {
    const double thr = opts.early_stopping_threshold;
    improved = !has_best || (opts.greater_is_better ? v > best_metric + thr : v < best_metric - thr);
  } else {
    spdlog::warn("validation {} is {} at update {}; not counted as an improvement", key, v, step);
  }
  if (improved) {
    has_best = true;
    best_metric = v;
    best_step = step;
    best_metrics = metrics;
    patience_used = 0;
    if (main_rank()) {  // only rank 0 writes the run folder
      save_best_params();
      if (cb.save_model) cb.save_model(CheckpointKind::kBest, model);
    }
  } else {
    ++patience_used;
    if (opts.early_stopping_patience > 0 && patience_used >= opts.early_stopping_patience) {
      stopped_early = true;
      spdlog::info("early stopping at update {}: validation {} did not improve for {} evaluations (best {} at update {})",
                   step, key, patience_used, best_metric, best_step);
    }
  }
  last_metrics = metrics;
  last_eval_step = step;
  pending_eval = false;
  snapshot_rng();
  save_state();

  EvalLog log;
  log.step = step;
  log.epoch = epoch_progress();
  log.metrics = metrics;
  log.is_best = improved;
  log.best_metric = best_metric;
  log.patience_used = patience_used;
  evals.push_back(log);
  if (cb.on_eval) cb.on_eval(log);
}

TrainResult Trainer::Impl::run() {
  const int64_t per_update = opts.batching.batch_size * opts.grad_accum;
  std::unique_ptr<ProgressBar> bar;
  if (opts.progress) {
    bar = std::make_unique<ProgressBar>("train", std::max<int64_t>(0, total_steps - step) * per_update, "samples");
  }
  try {
    while (true) {
      check_interrupted();
      if (pending_eval) {
        evaluate();
        continue;
      }
      if (finished()) break;
      update();
      if (bar) {
        char loss[32];
        std::snprintf(loss, sizeof(loss), "%.4f", last_loss);
        bar->set_postfix("step " + std::to_string(step) + "/" + std::to_string(total_steps) + " | loss " + loss +
                         " | lr " + format_lr(schedule->lr(step - 1)));
        bar->update(session_samples);
      }
    }
  } catch (const InterruptedError&) {
    spdlog::warn("training interrupted at update {}; saving resume state", step);
    save_state();
    if (cb.save_model && main_rank()) cb.save_model(CheckpointKind::kLast, model);
    throw;
  }
  if (bar) {
    bar->set_total(session_samples);
    bar->update(session_samples);
    bar->finish();
  }
  if (last_saved_step != step) save_state();
  if (group != nullptr && comm_updates > 0) {
    spdlog::info("distributed: {} ranks, {:.1f} samples/s; gradient allreduce: {:.1f} ms per update waited for after "
                 "backward ({:.1f}% of update time); {}",
                 group->world_size(), session_seconds > 0 ? static_cast<double>(session_samples) / session_seconds : 0.0,
                 1000.0 * comm_seconds / static_cast<double>(comm_updates),
                 session_seconds > 0 ? 100.0 * comm_seconds / session_seconds : 0.0, reduction_summary());
  }
  if (cb.save_model && main_rank()) {
    cb.save_model(CheckpointKind::kLast, model);
    if (!has_best) cb.save_model(CheckpointKind::kBest, model);
  }
  if (opts.load_best_at_end && has_best && best_step != step && main_rank()) load_best_params();
  return result();
}

TrainResult Trainer::Impl::result() const {
  TrainResult r;
  r.steps = step;
  r.total_steps = total_steps;
  r.epochs = epoch_progress();
  r.stopped_early = stopped_early;
  r.has_best = has_best;
  r.best_metric = best_metric;
  r.best_step = best_step;
  r.best_metrics = best_metrics;
  r.last_metrics = last_metrics;
  r.last_loss = last_loss;
  r.samples_per_s = session_seconds > 0 ? static_cast<double>(session_samples) / session_seconds : 0;
  r.evals = evals;
  return r;
}

Trainer::Trainer(TrainableModel& model, const std::vector<Example>& train_examples, TrainerOptions options,
                 TrainerCallbacks callbacks)
    : impl_(std::make_unique<Impl>(model, &train_examples, nullptr, std::move(options), std::move(callbacks))) {}

Trainer::Trainer(TrainableModel& model, ExampleSource& source, TrainerOptions options, TrainerCallbacks callbacks)
    : impl_(std::make_unique<Impl>(model, nullptr, &source, std::move(options), std::move(callbacks))) {}

Trainer::~Trainer() = default;

TrainResult Trainer::train() {
  seed_everything(impl_->opts.seed);
  if (impl_->group) impl_->broadcast_parameters();  // as DDP: every rank starts from rank 0's
  impl_->snapshot_rng();
  return impl_->run();
}

TrainResult Trainer::resume() {
  if (impl_->group) impl_->share_resume_state();
  impl_->load_state();
  return impl_->run();
}

std::string Trainer::state_path() const { return impl_->state_path(); }
int64_t Trainer::total_steps() const { return impl_->total_steps; }

}  // namespace nlpc::train
