#include "nlpc/models/bert/classifier.h"

#include <cstring>

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
    case ProblemType::kSingleLabel:
      return "single_label_classification";
    case ProblemType::kMultiLabel:
      return "multi_label_classification";
    case ProblemType::kRegression:
      return "regression";
  }
  return "";
}

ProblemType parse_problem_type(const std::string& s) {
  for (auto p : {ProblemType::kSingleLabel, ProblemType::kMultiLabel, ProblemType::kRegression}) {
    if (s == problem_type_name(p)) return p;
  }
  throw UsageError(
      "problem type must be single_label_classification, multi_label_classification or regression, got '" +
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

torch::Tensor SequenceClassifier::pool(const torch::Tensor& hidden,
                                       const torch::Tensor& attention_mask) const {
  // hidden: [batch, seq, hidden] -> [batch, hidden]
  if (options_.head.pooling == "cls" || !attention_mask.defined()) {
    return options_.head.pooling == "cls" ? hidden.select(1, 0) : hidden.mean(1);
  }
  torch::Tensor m = attention_mask.to(hidden.scalar_type()).unsqueeze(-1);  // [batch, seq, 1]
  return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9);
}

torch::Tensor SequenceClassifier::head_input(const EncoderOutput& enc,
                                             const torch::Tensor& attention_mask) const {
  if (options_.head.kind == "hf") {
    // DistilBertForSequenceClassification: hidden[:, 0]; BertForSequenceClassification: pooled output
    return pre_classifier_ ? enc.last_hidden.select(1, 0) : enc.pooled;
  }
  return pool(enc.last_hidden, attention_mask);
}

torch::Tensor SequenceClassifier::head_forward(torch::Tensor x) const {
  const bool training = is_training();
  if (options_.head.kind == "hf") {
    // DistilBERT: -> pre_classifier -> ReLU -> dropout; BERT: -> dropout
    if (pre_classifier_) x = torch::relu(linear_forward(x, pre_classifier_));
    return linear_forward(maybe_dropout(x, head_dropout_, training), classifier_);
  }
  for (auto& layer : mlp_hidden_)
    x = mlp_act_(linear_forward(maybe_dropout(x, head_dropout_, training), layer));
  return linear_forward(maybe_dropout(x, head_dropout_, training), mlp_output_);
}

void SequenceClassifier::cache_frozen_features(bool on) {
  cache_on_ = on;
  if (!on) {
    cache_index_.clear();
    std::vector<float>().swap(cache_rows_);
  }
}

torch::Tensor SequenceClassifier::cached_head_input(const torch::Tensor& input_ids,
                                                    const torch::Tensor& attention_mask,
                                                    const torch::Tensor& token_type_ids) {
  // input_ids: [batch, seq] -> [batch, hidden]
  const int64_t batch = input_ids.size(0), seq = input_ids.size(1), hidden = config_.hidden_size();
  const torch::Tensor ids = input_ids.to(torch::kCPU, torch::kLong).contiguous();
  const torch::Tensor types =
      token_type_ids.defined() ? token_type_ids.to(torch::kCPU, torch::kLong).contiguous() : torch::Tensor();
  const torch::Tensor lengths =
      attention_mask.defined() ? attention_mask.to(torch::kCPU).ne(0).sum(1).to(torch::kLong).contiguous()
                               : torch::full({batch}, seq, torch::kLong);
  std::vector<std::pair<uint64_t, uint64_t>> keys(static_cast<size_t>(batch));
  std::vector<int64_t> missing;
  for (int64_t b = 0; b < batch; ++b) {
    // Two independent 64-bit hashes of (length, ids, type ids): 128 bits against collisions.
    const int64_t len = lengths.data_ptr<int64_t>()[b];
    const int64_t* row = ids.data_ptr<int64_t>() + b * seq;
    const int64_t* trow = types.defined() ? types.data_ptr<int64_t>() + b * seq : nullptr;
    uint64_t h1 = 0xcbf29ce484222325ULL ^ uint64_t(len), h2 = 0x9E3779B97F4A7C15ULL + uint64_t(len);
    for (int64_t t = 0; t < len; ++t) {
      const uint64_t v = uint64_t(row[t]) * 4 + (trow != nullptr ? uint64_t(trow[t]) : 0);
      h1 = (h1 ^ v) * 0x100000001b3ULL;
      h2 = (h2 + v) * 0xff51afd7ed558ccdULL;
      h2 ^= h2 >> 33;
    }
    keys[size_t(b)] = {h1, h2};
    if (cache_index_.find(keys[size_t(b)]) == cache_index_.end()) missing.push_back(b);
  }
  if (!missing.empty()) {
    const torch::Tensor idx = torch::tensor(missing, torch::kLong).to(input_ids.device());
    torch::Tensor sub_mask = attention_mask.defined() ? attention_mask.index_select(0, idx) : torch::Tensor();
    torch::Tensor sub_types =
        token_type_ids.defined() ? token_type_ids.index_select(0, idx) : torch::Tensor();
    torch::Tensor features;
    {
      torch::NoGradGuard no_grad;
      const EncoderOutput enc = encoder_->encode(input_ids.index_select(0, idx), sub_mask, sub_types, false);
      features = head_input(enc, sub_mask).to(torch::kCPU, torch::kFloat).contiguous();  // [missing, hidden]
    }
    for (size_t i = 0; i < missing.size(); ++i) {
      const auto key = keys[size_t(missing[i])];
      if (cache_index_.count(key) != 0) continue;  // the same input twice in this batch
      cache_index_.emplace(key, static_cast<int64_t>(cache_rows_.size()) / hidden);
      const float* f = features.data_ptr<float>() + static_cast<int64_t>(i) * hidden;
      cache_rows_.insert(cache_rows_.end(), f, f + hidden);
    }
  }
  torch::Tensor out = torch::empty({batch, hidden}, torch::kFloat);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t r = cache_index_.at(keys[size_t(b)]);
    std::memcpy(out.data_ptr<float>() + b * hidden, cache_rows_.data() + r * hidden,
                size_t(hidden) * sizeof(float));
  }
  return out.to(input_ids.device(), encoder_->parameters().front().scalar_type());
}

ClassifierOutput SequenceClassifier::forward_full(const torch::Tensor& input_ids,
                                                  const torch::Tensor& attention_mask,
                                                  const torch::Tensor& token_type_ids,
                                                  bool want_hidden_states) {
  // input_ids: [batch, seq] -> logits: [batch, num_labels]
  ClassifierOutput out;
  if (cache_on_ && options_.head.freeze_encoder && !want_hidden_states) {
    out.logits = head_forward(cached_head_input(input_ids, attention_mask, token_type_ids));
    return out;
  }
  EncoderOutput enc;
  if (options_.head.freeze_encoder && torch::GradMode::is_enabled()) {
    torch::NoGradGuard no_grad;
    enc = encoder_->encode(input_ids, attention_mask, token_type_ids, want_hidden_states);
  } else {
    enc = encoder_->encode(input_ids, attention_mask, token_type_ids, want_hidden_states);
  }
  out.hidden_states = std::move(enc.hidden_states);
  out.logits = head_forward(head_input(enc, attention_mask));
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
      if (num_labels() == 1)
        return torch::mse_loss(logits.squeeze(), labels.squeeze().to(logits.scalar_type()));
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

std::shared_ptr<SequenceClassifier> create_classifier(const ModelConfig& config,
                                                      const ClassifierOptions& options, c10::Device device) {
  auto model = std::make_shared<SequenceClassifier>(config, options);
  model->init_weights();
  model->to(device);
  return model;
}

}  // namespace nlpc::models
