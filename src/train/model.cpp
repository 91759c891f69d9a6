#include "nlpc/train/model.h"

#include <sstream>

#include "nlpc/core/error.h"

namespace nlpc::train {
namespace F = torch::nn::functional;

namespace {
std::string shape_string(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}
}  // namespace

torch::Tensor TrainableModel::loss(const Batch& batch, const LossOptions& opts) {
  return task_loss(logits(batch), batch, opts);
}

std::vector<NamedParameter> ModuleModel::named_parameters() {
  std::vector<NamedParameter> out;
  for (const auto& item : module_->named_parameters(/*recurse=*/true)) {
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

std::vector<NamedParameter> ModuleModel::named_buffers() {
  std::vector<NamedParameter> out;
  for (const auto& item : module_->named_buffers(/*recurse=*/true)) {
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

torch::Tensor task_loss(const torch::Tensor& logits, const Batch& batch, const LossOptions& opts) {
  // logits: [batch, num_labels]
  if (!batch.labels.defined()) {
    throw RuntimeError("cannot compute a training loss: the batch has no labels");
  }
  if (logits.dim() != 2 || logits.size(0) != batch.size()) {
    throw RuntimeError("expected logits [batch=" + std::to_string(batch.size()) +
                       ", num_labels], got " + shape_string(logits));
  }
  const torch::Tensor x = logits.to(torch::kFloat32);
  if (opts.task == Task::kClassification) {
    // labels: [batch] int64
    if (batch.labels.dim() != 1 || batch.labels.scalar_type() != torch::kInt64) {
      throw RuntimeError("classification needs int64 labels [batch], got " + shape_string(batch.labels) +
                         "; is the task multi-label?");
    }
    auto o = F::CrossEntropyFuncOptions().label_smoothing(opts.label_smoothing);
    if (opts.class_weights.defined()) o = o.weight(opts.class_weights.to(x.device(), torch::kFloat32));
    return F::cross_entropy(x, batch.labels, o);
  }
  // labels: [batch, num_labels] float
  if (!batch.labels.sizes().equals(x.sizes())) {
    throw RuntimeError("multi-label needs float labels shaped like the logits " + shape_string(x) +
                       ", got " + shape_string(batch.labels));
  }
  auto o = F::BinaryCrossEntropyWithLogitsFuncOptions();
  if (opts.class_weights.defined()) o = o.pos_weight(opts.class_weights.to(x.device(), torch::kFloat32));
  return F::binary_cross_entropy_with_logits(x, batch.labels.to(torch::kFloat32), o);
}

std::vector<float> balanced_class_weights(const std::vector<int64_t>& labels, int64_t num_labels) {
  if (num_labels <= 0) throw UsageError("class weights need at least one label");
  std::vector<int64_t> count(static_cast<size_t>(num_labels), 0);
  for (int64_t y : labels) {
    if (y < 0 || y >= num_labels) {
      throw InputError("label id " + std::to_string(y) + " is outside [0, " + std::to_string(num_labels) + ")");
    }
    ++count[static_cast<size_t>(y)];
  }
  return balanced_weights_from_counts(count, static_cast<int64_t>(labels.size()), false);
}

std::vector<float> balanced_pos_weights(const std::vector<std::vector<float>>& targets) {
  if (targets.empty()) return {};
  const size_t k = targets[0].size();
  std::vector<int64_t> pos(k, 0);
  for (const auto& t : targets) {
    if (t.size() != k) throw InputError("multi-label targets have different lengths");
    for (size_t j = 0; j < k; ++j) pos[j] += t[j] > 0.5f ? 1 : 0;
  }
  return balanced_weights_from_counts(pos, static_cast<int64_t>(targets.size()), true);
}

std::vector<float> balanced_weights_from_counts(const std::vector<int64_t>& counts, int64_t rows, bool multilabel) {
  std::vector<float> w(counts.size(), 1.0f);
  const double n = static_cast<double>(rows);
  const double k = static_cast<double>(counts.size());
  for (size_t j = 0; j < counts.size(); ++j) {
    const double c = static_cast<double>(counts[j]);
    if (c > 0) w[j] = static_cast<float>(multilabel ? (n - c) / c : n / (k * c));
  }
  return w;
}

}  // namespace nlpc::train
