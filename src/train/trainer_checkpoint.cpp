// Resume state and best parameters of the Trainer (see trainer.h for what is saved and when).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>
#include <sstream>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/dist/dist.h"
#include "nlpc/train/state_file.h"
#include "trainer_impl.h"

namespace nlpc::train {
namespace {

constexpr int kStateFormat = 1;

nlohmann::json metrics_to_json(const MetricMap& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) {
    if (std::isfinite(v)) {
      j[k] = v;
    } else {
      j[k] = std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
    }
  }
  return j;
}

MetricMap metrics_from_json(const nlohmann::json& j) {
  MetricMap m;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_number()) {
      m[it.key()] = it->get<double>();
    } else {
      const std::string s = it->get<std::string>();
      m[it.key()] = s == "nan" ? std::numeric_limits<double>::quiet_NaN()
                               : (s == "inf" ? 1.0 : -1.0) * std::numeric_limits<double>::infinity();
    }
  }
  return m;
}

bool uses_cuda(const torch::Device& d) { return d.is_cuda(); }

}  // namespace

std::string Trainer::Impl::state_path() const {
  return opts.checkpoint_dir.empty() ? "" : opts.checkpoint_dir + "/trainer_state.bin";
}

std::string Trainer::Impl::best_path() const {
  return opts.checkpoint_dir.empty() ? "" : opts.checkpoint_dir + "/best_params.bin";
}

std::string Trainer::Impl::last_saved_description() const {
  if (opts.checkpoint_dir.empty()) return "No checkpoint directory was set, so nothing was saved.";
  if (last_saved_step < 0) return "No checkpoint had been written yet.";
  return "The last good checkpoint (update " + std::to_string(last_saved_step) + ") is kept in " + state_path() +
         (has_best ? " and the best parameters (update " + std::to_string(best_step) + ") in " + best_path() : "") + ".";
}

void Trainer::Impl::snapshot_rng() {
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    rng_state = gen.get_state();
  }
  if (uses_cuda(opts.device)) {
    auto gen = at::globalContext().defaultGenerator(opts.device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    cuda_rng_state = gen.get_state();
  }
}

void Trainer::Impl::restore_rng() {
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng_state);
  }
  if (uses_cuda(opts.device) && cuda_rng_state.defined()) {
    auto gen = at::globalContext().defaultGenerator(opts.device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(cuda_rng_state);
  }
}

// Everything that changes the arithmetic of training: a resume must match it exactly.
nlohmann::json Trainer::Impl::fingerprint() const {
  nlohmann::json names = nlohmann::json::array();
  for (const auto& [name, p] : params) names.push_back(name + (p.requires_grad() ? "" : " (frozen)"));
  nlohmann::json f = {
      {"seed", opts.seed},
      {"num_examples", num_examples()},
      {"data_fingerprint", batcher ? batcher->data_fingerprint() : stream->data_fingerprint()},
      {"batch_size", opts.batching.batch_size},
      {"shuffle", opts.batching.shuffle},
      {"bucket_window", opts.batching.bucket_window},
      {"pad_to_multiple", opts.batching.pad_to_multiple},
      {"drop_last", opts.batching.drop_last},
      {"grad_accum", opts.grad_accum},
      {"total_steps", total_steps},
      {"lr", opts.adamw.lr},
      {"beta1", opts.adamw.beta1},
      {"beta2", opts.adamw.beta2},
      {"eps", opts.adamw.eps},
      {"weight_decay", opts.adamw.weight_decay},
      {"schedule", schedule_name(opts.schedule)},
      {"warmup_steps", schedule->warmup_steps()},
      {"max_grad_norm", opts.max_grad_norm},
      {"label_smoothing", opts.loss.label_smoothing},
      {"class_weights", opts.loss.class_weights.defined()},
      {"parameters", names},
  };
  // only under a launcher, so that single-process states of earlier versions still match
  if (group != nullptr) f["world_size"] = group->world_size();
  if (stream) f["shuffle_buffer"] = opts.batching.shuffle ? opts.batching.shuffle_buffer : 0;
  return f;
}

void Trainer::Impl::save_state() {
  if (opts.checkpoint_dir.empty() || !main_rank()) return;
  nlohmann::json meta;
  meta["format"] = kStateFormat;
  meta["options"] = fingerprint();
  meta["progress"] = {
      {"step", step},
      {"epoch", pos.epoch},
      {"batch", pos.batch},
      {"pending_eval", pending_eval},
      {"last_eval_step", last_eval_step},
      {"stopped_early", stopped_early},
      {"has_best", has_best},
      {"best_metric", has_best ? best_metric : 0.0},
      {"best_step", best_step},
      {"patience_used", patience_used},
      {"best_metrics", metrics_to_json(best_metrics)},
      {"last_metrics", metrics_to_json(last_metrics)},
      {"last_loss", last_loss},
  };
  if (stream) meta["progress"]["stream"] = stream->state(pos);
  std::vector<NamedParameter> tensors;
  for (const auto& [name, p] : params) tensors.emplace_back("param/" + name, p);
  for (const auto& [name, b] : model.named_buffers()) tensors.emplace_back("buffer/" + name, b);
  for (const auto& [name, t] : optimizer->state()) tensors.emplace_back("optim/" + name, t);
  tensors.emplace_back("rng/cpu", rng_state);
  if (cuda_rng_state.defined()) tensors.emplace_back("rng/cuda", cuda_rng_state);
  write_tensor_bundle(state_path(), meta, tensors);
  last_saved_step = step;
}

namespace {
void copy_into(const std::vector<NamedParameter>& targets, const std::string& prefix, const TensorBundle& b) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : targets) {
    const torch::Tensor& src = b.get(prefix + name);
    if (!src.sizes().equals(t.sizes())) {
      std::ostringstream os;
      os << b.source << ": '" << name << "' has shape " << src.sizes() << ", the model expects " << t.sizes();
      throw UsageError(os.str());
    }
    torch::Tensor dst = t;
    dst.copy_(src);
  }
}
}  // namespace

void Trainer::Impl::load_state() {
  const std::string path = state_path();
  if (path.empty()) throw UsageError("cannot resume: no checkpoint directory was given");
  if (!file_exists(path)) {
    throw UsageError("cannot resume: " + path + " does not exist (the run never reached its first "
                     "checkpoint); start it again without --resume");
  }
  TensorBundle b = read_tensor_bundle(path);
  if (b.meta.value("format", 0) != kStateFormat) {
    throw UsageError(path + " was written by an incompatible nlpc version (state format " +
                     b.meta.value("format", nlohmann::json(0)).dump() + ", expected " + std::to_string(kStateFormat) + ")");
  }
  const nlohmann::json now = fingerprint();
  const nlohmann::json& then = b.meta.at("options");
  std::string diff;
  for (auto it = now.begin(); it != now.end(); ++it) {
    const nlohmann::json old = then.contains(it.key()) ? then.at(it.key()) : nlohmann::json();
    if (old != *it) {
      const bool long_value = it.key() == "parameters";
      diff += "\n  " + it.key() + ": " + (long_value ? "differs" : "checkpoint " + old.dump() + ", now " + it->dump());
    }
  }
  for (auto it = then.begin(); it != then.end(); ++it) {
    if (!now.contains(it.key())) diff += "\n  " + it.key() + ": checkpoint " + it->dump() + ", now " +
                                         (it.key() == "world_size" ? "1 (a single process)" : "not set");
  }
  if (!diff.empty()) {
    throw UsageError("cannot resume from " + path + ": the run was started with different settings or data;" + diff +
                     "\nresume with the original configuration, or start a new run");
  }
  const nlohmann::json& p = b.meta.at("progress");
  step = p.at("step");
  pos = DataPosition{p.at("epoch").get<int64_t>(), p.at("batch").get<int64_t>()};
  pending_eval = p.at("pending_eval");
  last_eval_step = p.at("last_eval_step");
  stopped_early = p.at("stopped_early");
  has_best = p.at("has_best");
  best_metric = p.at("best_metric");
  best_step = p.at("best_step");
  patience_used = p.at("patience_used");
  best_metrics = metrics_from_json(p.at("best_metrics"));
  last_metrics = metrics_from_json(p.at("last_metrics"));
  last_loss = p.at("last_loss");
  if (stream) stream->restore(pos, p.at("stream"));

  copy_into(params, "param/", b);
  copy_into(model.named_buffers(), "buffer/", b);
  std::vector<NamedParameter> optim;
  for (const auto& [name, t] : b.tensors) {
    if (name.compare(0, 6, "optim/") == 0) optim.emplace_back(name.substr(6), t.to(opts.device));
  }
  optimizer->load_state(optim);
  rng_state = b.get("rng/cpu");
  cuda_rng_state = uses_cuda(opts.device) ? b.get("rng/cuda") : torch::Tensor();
  restore_rng();
  last_saved_step = step;
  spdlog::info("resuming from {} at update {} of {} (epoch {}, batch {})", path, step, total_steps, pos.epoch + 1,
               pos.batch);
}

void Trainer::Impl::save_best_params() {
  std::vector<NamedParameter> trainable;
  for (const auto& [name, p] : params) {
    if (p.requires_grad()) trainable.emplace_back(name, p);
  }
  if (opts.checkpoint_dir.empty()) {
    best_in_memory.clear();
    for (const auto& np : trainable) best_in_memory.push_back(np.second.detach().clone());
    return;
  }
  write_tensor_bundle(best_path(), {{"format", kStateFormat}, {"step", step}}, trainable);
}

void Trainer::Impl::load_best_params() {
  torch::NoGradGuard no_grad;
  if (opts.checkpoint_dir.empty()) {
    size_t k = 0;
    for (auto& [name, p] : params) {
      if (p.requires_grad()) p.copy_(best_in_memory.at(k++));
    }
  } else {
    std::vector<NamedParameter> trainable;
    for (const auto& [name, p] : params) {
      if (p.requires_grad()) trainable.emplace_back(name, p);
    }
    copy_into(trainable, "", read_tensor_bundle(best_path()));
  }
  spdlog::info("restored the best parameters (update {}, validation {} = {})", best_step,
               opts.metric_for_best.empty() ? "metric" : opts.metric_for_best, best_metric);
}

}  // namespace nlpc::train
