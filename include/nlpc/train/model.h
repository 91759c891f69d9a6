#pragma once
// The interface the trainer drives. A model layer class (BERT, DistilBERT, T5, ...) becomes
// trainable by implementing TrainableModel, or, for a torch::nn::Module with a classification
// head, by wrapping it in ModuleModel with a forward function:
//
//   auto bert = std::make_shared<BertForSequenceClassification>(config);   // a torch::nn::Module
//   nlpc::train::ModuleModel model(bert, [bert](const nlpc::train::Batch& b) {
//     return bert->forward(b.input_ids, b.attention_mask, b.token_type_ids);  // [batch, labels]
//   });
//
// Parameter names must be the module's own names (HF checkpoint keys): the trainer uses them for
// weight-decay groups ("bias", "LayerNorm", "layer_norm", "norm"), freezing (name prefixes) and
// resume state.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "nlpc/train/batch.h"

namespace nlpc::train {

enum class Task { kClassification, kMultiLabel };

// How the default loss is computed from logits.
struct LossOptions {
  Task task = Task::kClassification;
  // Classification: per-class weights [num_labels] for cross-entropy (weighted mean, as PyTorch's
  // CrossEntropyLoss(weight=...)). Multi-label: per-label pos_weight for BCE-with-logits.
  // Undefined = unweighted.
  torch::Tensor class_weights;
  double label_smoothing = 0.0;  // classification only
};

using NamedParameter = std::pair<std::string, torch::Tensor>;

class TrainableModel {
 public:
  virtual ~TrainableModel() = default;

  // Logits for classification heads: [batch, num_labels]. Seq2seq models may return their
  // decoder logits [batch, tgt_seq, vocab] and override loss().
  virtual torch::Tensor logits(const Batch& batch) = 0;
  // Scalar training loss (mean over the batch). Default: task_loss(logits(batch), batch, opts).
  virtual torch::Tensor loss(const Batch& batch, const LossOptions& opts);
  // Every parameter (trainable or frozen) with its full dotted name, in a stable order.
  virtual std::vector<NamedParameter> named_parameters() = 0;
  // Switches dropout etc. on (training) or off (evaluation).
  virtual void train(bool on) = 0;
  // Buffers that change during training (none for Transformers) and must be restored on resume.
  virtual std::vector<NamedParameter> named_buffers() { return {}; }
};

// Adapter for a torch::nn::Module plus a forward function returning logits.
class ModuleModel : public TrainableModel {
 public:
  using Forward = std::function<torch::Tensor(const Batch&)>;
  ModuleModel(std::shared_ptr<torch::nn::Module> module, Forward forward)
      : module_(std::move(module)), forward_(std::move(forward)) {}

  torch::Tensor logits(const Batch& batch) override { return forward_(batch); }
  std::vector<NamedParameter> named_parameters() override;
  std::vector<NamedParameter> named_buffers() override;
  void train(bool on) override { module_->train(on); }
  torch::nn::Module& module() { return *module_; }

 private:
  std::shared_ptr<torch::nn::Module> module_;
  Forward forward_;
};

// Cross-entropy (single-label, int64 labels [batch]) or BCE-with-logits (multi-label, float labels
// [batch, L]) of logits [batch, L]; mean over the batch. Throws RuntimeError when the batch has no
// labels or the label shape does not match the logits.
torch::Tensor task_loss(const torch::Tensor& logits, const Batch& batch, const LossOptions& opts);

// "balanced" class weights as scikit-learn computes them: n / (k * count[c]) for the k classes;
// a class with no example gets weight 1 (it never occurs in the loss). labels in [0, num_labels).
std::vector<float> balanced_class_weights(const std::vector<int64_t>& labels, int64_t num_labels);
// Multi-label pos_weight: negatives / positives per label (1 where a label has no positive).
std::vector<float> balanced_pos_weights(const std::vector<std::vector<float>>& targets);
// The same from counts: rows per class (single-label) or positives per label (multi-label) among
// `rows` rows (streamed training knows the counts, not the rows).
std::vector<float> balanced_weights_from_counts(const std::vector<int64_t>& counts, int64_t rows, bool multilabel);

}  // namespace nlpc::train
