#include "nlpc/models/bert/classifier.h"

#include "nlpc/core/error.h"
#include "nlpc/models/layers/layers.h"
#include "nlpc/models/registry.h"

namespace nlpc::models {
namespace {

void validate(const ClassifierOptions& o) {
  if (o.labels.empty()) throw UsageError("a classifier needs at least one label");
  if (o.problem_type != ProblemType::kRegression && o.labels.size() < 2 &&
      o.problem_type == ProblemType::kSingleLabel) {
    throw UsageError("single-label classification needs at least two labels (got " +
                     std::to_string(o.labels.size()) + ")");
  }
  if (o.head.kind != "hf" && o.head.kind != "mlp") {
    throw UsageError("head kind must be \"hf\" or \"mlp\", got '" + o.head.kind + "'");
  }
  if (o.head.pooling != "cls" && o.head.pooling != "mean") {
    throw UsageError("head pooling must be \"cls\" or \"mean\", got '" + o.head.pooling + "'");
  }
  for (int64_t h : o.head.hidden_sizes) {
    if (h <= 0) throw UsageError("head hidden sizes must be positive, got " + std::to_string(h));
  }
  if (o.head.dropout < 0 || o.head.dropout >= 1) throw UsageError("head dropout must be in [0, 1)");
}

}  // namespace

std::string problem_type_name(ProblemType p) {
  switch (p) {
    case ProblemType::kSingleLabel: return "single_label_classification";
    case ProblemType::kMultiLabel: return "multi_label_classification";
    case ProblemType::kRegression: return "regression";
  }
  return "";
}

ProblemType parse_problem_type(const std::string& s) {
  for (auto p : {ProblemType::kSingleLabel, ProblemType::kMultiLabel, ProblemType::kRegression}) {
    if (s == problem_type_name(p)) return p;
  }
  throw UsageError("problem type must be single_label_classification, multi_label_classification or regression, got '" +
                   s + "'");
}

SequenceClassifier::SequenceClassifier(ModelConfig config, ClassifierOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  validate(options_);
  encoder_ = create_encoder(config_);
  register_module(encoder_->prefix(), encoder_);
  const int64_t h = encoder_->hidden_size(), n = num_labels();
  if (options_.head.kind == "hf") {
    if (config_.model_type == "distilbert") {
      pre_classifier_ = register_module("pre_classifier", torch::nn::Linear(h, h));
      head_dropout_ = config_.distilbert.seq_classif_dropout;
    } else {
      head_dropout_ = config_.bert.classifier_dropout.value_or(config_.bert.hidden_dropout_prob);
    }
    classifier_ = register_module("classifier", torch::nn::Linear(h, n));
  } else {
    auto head = register_module("nlpc_head", std::make_shared<torch::nn::Module>());
    auto hidden = head->register_module("hidden", torch::nn::ModuleList());
    int64_t in = h;
    for (int64_t size : options_.head.hidden_sizes) {
      mlp_hidden_.push_back(torch::nn::Linear(in, size));
      hidden->push_back(mlp_hidden_.back());
      in = size;
    }
    mlp_output_ = head->register_module("output", torch::nn::Linear(in, n));
    mlp_act_ = make_activation(options_.head.activation, "head activation");
    head_dropout_ = options_.head.dropout;
  }
  if (options_.head.freeze_encoder) {
    for (auto& p : encoder_->parameters()) p.set_requires_grad(false);
  }
  train(true);
}

void SequenceClassifier::train(bool on) {
  torch::nn::Module::train(on);
  if (options_.head.freeze_encoder) encoder_->train(false);
}

void SequenceClassifier::init_weights() {
  encoder_->init_weights();
  const double std = config_.initializer_range();
  torch::NoGradGuard no_grad;
  for (auto& kv : named_modules("", /*include_self=*/false)) {
    if (kv.key() == encoder_->prefix() || kv.key().rfind(encoder_->prefix() + ".", 0) == 0) continue;
    if (auto* lin = kv.value()->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, std);
      lin->bias.zero_();
    }
  }
}

std::vector<torch::Tensor> SequenceClassifier::encoder_parameters() { return encoder_->parameters(); }

std::vector<torch::Tensor> SequenceClassifier::head_parameters() {
  std::vector<torch::Tensor> out;
  const std::string prefix = encoder_->prefix() + ".";
  for (auto& kv : named_parameters()) {
    if (kv.key().rfind(prefix, 0) != 0) out.push_back(kv.value());
  }
  return out;
}

torch::Tensor SequenceClassifier::pool(const torch::Tensor& hidden, const torch::Tensor& attention_mask) const {
  // hidden: [batch, seq, hidden] -> [batch, hidden]
  if (options_.head.pooling == "cls" || !attention_mask.defined()) {
    return options_.head.pooling == "cls" ? hidden.select(1, 0) : hidden.mean(1);
  }
  torch::Tensor m = attention_mask.to(hidden.scalar_type()).unsqueeze(-1);  // [batch, seq, 1]
  return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9);
}

ClassifierOutput SequenceClassifier::forward_full(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                                  const torch::Tensor& token_type_ids, bool want_hidden_states) {
  // input_ids: [batch, seq] -> logits: [batch, num_labels]
  EncoderOutput enc;
  if (options_.head.freeze_encoder && torch::GradMode::is_enabled()) {
    torch::NoGradGuard no_grad;
    enc = encoder_->encode(input_ids, attention_mask, token_type_ids, want_hidden_states);
  } else {
    enc = encoder_->encode(input_ids, attention_mask, token_type_ids, want_hidden_states);
  }
  ClassifierOutput out;
  out.hidden_states = std::move(enc.hidden_states);
  const bool training = is_training();
  if (options_.head.kind == "hf") {
    torch::Tensor x;
    if (pre_classifier_) {
      // DistilBertForSequenceClassification: [batch, dim] -> pre_classifier -> ReLU -> dropout
      x = torch::relu(linear_forward(enc.last_hidden.select(1, 0), pre_classifier_));
    } else {
      x = enc.pooled;  // BertForSequenceClassification: pooled output
    }
    out.logits = linear_forward(maybe_dropout(x, head_dropout_, training), classifier_);
    return out;
  }
  torch::Tensor x = pool(enc.last_hidden, attention_mask);
  for (auto& layer : mlp_hidden_) x = mlp_act_(linear_forward(maybe_dropout(x, head_dropout_, training), layer));
  out.logits = linear_forward(maybe_dropout(x, head_dropout_, training), mlp_output_);
  return out;
}

torch::Tensor SequenceClassifier::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                          const torch::Tensor& token_type_ids) {
  return forward_full(input_ids, attention_mask, token_type_ids, false).logits;
}

torch::Tensor SequenceClassifier::loss(const torch::Tensor& logits, const torch::Tensor& labels) const {
  // logits: [batch, num_labels]
  switch (options_.problem_type) {
    case ProblemType::kSingleLabel:
      return torch::cross_entropy_loss(logits.view({-1, num_labels()}), labels.view({-1}).to(torch::kLong));
    case ProblemType::kMultiLabel:
      return torch::binary_cross_entropy_with_logits(logits, labels.to(logits.scalar_type()));
    case ProblemType::kRegression:
      if (num_labels() == 1) return torch::mse_loss(logits.squeeze(), labels.squeeze().to(logits.scalar_type()));
      return torch::mse_loss(logits, labels.to(logits.scalar_type()));
  }
  return {};
}

ModelConfig SequenceClassifier::export_config() const {
  ModelConfig c = config_;
  const Architecture& arch = find_architecture(c.model_type, "config.json");
  c.id2label = options_.labels;
  c.problem_type = problem_type_name(options_.problem_type);
  if (options_.head.kind == "hf") {
    c.architectures = {arch.classifier_class};
    c.raw.erase("nlpc_head");
  } else {
    c.architectures = {arch.base_class};
    c.raw["nlpc_head"] = {{"hidden_sizes", options_.head.hidden_sizes},
                          {"pooling", options_.head.pooling},
                          {"activation", options_.head.activation},
                          {"dropout", options_.head.dropout},
                          {"freeze_encoder", options_.head.freeze_encoder}};
  }
  return c;
}

std::shared_ptr<SequenceClassifier> create_classifier(const ModelConfig& config, const ClassifierOptions& options,
                                                      c10::Device device) {
  auto model = std::make_shared<SequenceClassifier>(config, options);
  model->init_weights();
  model->to(device);
  return model;
}

}  // namespace nlpc::models
