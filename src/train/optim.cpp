#include "nlpc/train/optim.h"

#include <cctype>
#include <cmath>
#include <map>
#include <sstream>

#include "nlpc/core/error.h"

namespace nlpc::train {

bool no_weight_decay(const std::string& name) {
  if (name.find("bias") != std::string::npos) return true;
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;  // a top-level parameter has no module name
  std::string module = name.substr(0, dot);
  for (char& c : module) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return module.find("norm") != std::string::npos;
}

AdamW::AdamW(const std::vector<NamedParameter>& params, AdamWOptions options) : options_(options) {
  Group decay;
  decay.weight_decay = options_.weight_decay;
  Group no_decay;
  no_decay.weight_decay = 0.0;
  for (const auto& [name, p] : params) {
    if (!p.requires_grad()) continue;
    (no_weight_decay(name) ? no_decay : decay).params.emplace_back(name, p);
  }
  if (decay.params.empty() && no_decay.params.empty()) {
    throw UsageError("nothing to train: every parameter is frozen");
  }
  groups_.push_back(std::move(decay));
  groups_.push_back(std::move(no_decay));
  for (const auto& g : groups_) {
    for (const auto& np : g.params) {
      Slot s;
      s.exp_avg = torch::zeros_like(np.second, torch::MemoryFormat::Preserve);
      s.exp_avg_sq = torch::zeros_like(np.second, torch::MemoryFormat::Preserve);
      slots_.push_back(std::move(s));
    }
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  const double b1 = options_.beta1;
  const double b2 = options_.beta2;
  size_t k = 0;
  for (const auto& g : groups_) {
    for (const auto& np : g.params) {
      Slot& s = slots_[k++];
      torch::Tensor p = np.second;
      const torch::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      s.step += 1;
      // p: any shape; decoupled weight decay first, as torch.optim.AdamW.
      if (g.weight_decay != 0.0) p.mul_(1.0 - lr * g.weight_decay);
      s.exp_avg.mul_(b1).add_(grad, 1.0 - b1);
      s.exp_avg_sq.mul_(b2).addcmul_(grad, grad, 1.0 - b2);
      const double bc1 = 1.0 - std::pow(b1, static_cast<double>(s.step));
      const double bc2 = 1.0 - std::pow(b2, static_cast<double>(s.step));
      const torch::Tensor denom = (s.exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(options_.eps);
      p.addcdiv_(s.exp_avg, denom, -lr / bc1);
    }
  }
}

void AdamW::zero_grad() {
  for (const auto& g : groups_) {
    for (const auto& np : g.params) {
      torch::Tensor p = np.second;
      if (p.grad().defined()) p.mutable_grad().reset();
    }
  }
}

std::vector<torch::Tensor> AdamW::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& g : groups_) {
    for (const auto& np : g.params) out.push_back(np.second);
  }
  return out;
}

std::vector<NamedParameter> AdamW::state() const {
  std::vector<NamedParameter> out;
  size_t k = 0;
  for (const auto& g : groups_) {
    for (const auto& np : g.params) {
      const Slot& s = slots_[k++];
      out.emplace_back(np.first + "/exp_avg", s.exp_avg);
      out.emplace_back(np.first + "/exp_avg_sq", s.exp_avg_sq);
      out.emplace_back(np.first + "/step", torch::tensor(s.step, torch::kInt64));
    }
  }
  return out;
}

void AdamW::load_state(const std::vector<NamedParameter>& state) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  auto get = [&](const std::string& key, const torch::Tensor& like) {
    auto it = by_name.find(key);
    if (it == by_name.end()) {
      throw RuntimeError("optimizer state has no entry '" + key +
                         "'; was the checkpoint written for another model or frozen-parameter set?");
    }
    if (like.defined() && !it->second.sizes().equals(like.sizes())) {
      std::ostringstream os;
      os << "optimizer state '" << key << "': expected shape " << like.sizes() << ", got "
         << it->second.sizes();
      throw RuntimeError(os.str());
    }
    return it->second;
  };
  torch::NoGradGuard no_grad;
  size_t k = 0;
  for (const auto& g : groups_) {
    for (const auto& np : g.params) {
      Slot& s = slots_[k++];
      s.exp_avg.copy_(get(np.first + "/exp_avg", s.exp_avg));
      s.exp_avg_sq.copy_(get(np.first + "/exp_avg_sq", s.exp_avg_sq));
      s.step = get(np.first + "/step", torch::Tensor()).item<int64_t>();
    }
  }
}

ScheduleKind parse_schedule(const std::string& name) {
  if (name == "linear") return ScheduleKind::kLinear;
  if (name == "cosine") return ScheduleKind::kCosine;
  if (name == "constant") return ScheduleKind::kConstant;
  throw UsageError("unknown learning-rate schedule '" + name + "'; expected linear, cosine or constant");
}

std::string schedule_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kLinear: return "linear";
    case ScheduleKind::kCosine: return "cosine";
    case ScheduleKind::kConstant: return "constant";
  }
  return "?";
}

LrSchedule::LrSchedule(ScheduleKind kind, double base_lr, int64_t warmup_steps, int64_t total_steps)
    : kind_(kind), base_lr_(base_lr), warmup_(warmup_steps), total_(total_steps) {
  if (warmup_ < 0 || total_ <= 0) {
    throw UsageError("learning-rate schedule needs warmup >= 0 and total steps > 0, got warmup " +
                     std::to_string(warmup_) + ", total " + std::to_string(total_));
  }
}

double LrSchedule::factor(int64_t step) const {
  const double s = static_cast<double>(step);
  if (step < warmup_) return s / static_cast<double>(std::max<int64_t>(1, warmup_));
  const double span = static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
  const double progress = (s - static_cast<double>(warmup_)) / span;
  switch (kind_) {
    case ScheduleKind::kLinear:
      return std::max(0.0, static_cast<double>(total_ - step) / span);
    case ScheduleKind::kCosine:
      // num_cycles = 0.5: one half cosine from 1 to 0.
      return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 2.0 * 0.5 * progress)));
    case ScheduleKind::kConstant:
      return 1.0;
  }
  return 1.0;
}

int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps) {
  if (warmup_steps < 0) throw UsageError("train.warmup_steps must be >= 0");
  if (warmup_ratio < 0 || warmup_ratio > 1) {
    throw UsageError("train.warmup_ratio must be in [0, 1], got " + std::to_string(warmup_ratio));
  }
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<int64_t>(std::ceil(warmup_ratio * static_cast<double>(total_steps)));
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat32));
  }
  if (norms.empty()) return 0.0;
  const double total = torch::stack(norms).norm(2).item<double>();
  if (max_norm > 0 && std::isfinite(total)) {
    const double coef = max_norm / (total + 1e-6);
    if (coef < 1.0) {
      for (const auto& p : params) {
        if (p.grad().defined()) p.grad().mul_(coef);
      }
    }
  }
  return total;
}

}  // namespace nlpc::train
