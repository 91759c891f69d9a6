#pragma once
// DistilBERT encoder with transformers' modeling_distilbert.py semantics and parameter names
// (relative to the "distilbert." prefix): embeddings.{word,position}_embeddings, embeddings.LayerNorm,
// transformer.layer.N.attention.{q_lin,k_lin,v_lin,out_lin}, transformer.layer.N.sa_layer_norm,
// transformer.layer.N.ffn.{lin1,lin2}, transformer.layer.N.output_layer_norm.
#include "nlpc/models/bert/config.h"
#include "nlpc/models/bert/encoder.h"
#include "nlpc/models/layers/attention.h"
#include "nlpc/models/layers/layers.h"

namespace nlpc::models {

class DistilBertLayer : public torch::nn::Module {
 public:
  DistilBertLayer(const DistilBertConfig& c, const Activation& act);
  // x: [batch, seq, dim], bias: [batch, 1, 1, seq] -> [batch, seq, dim]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias);

 private:
  DistilBertConfig config_;
  Activation act_;
  bool gelu_ = false;  // activation "gelu": fused into the int8 kernel in inference
  MultiHeadAttention attention_{nullptr};
  torch::nn::Linear lin1_{nullptr}, lin2_{nullptr};
  torch::nn::LayerNorm sa_norm_{nullptr}, out_norm_{nullptr};
};

class DistilBertModel : public Encoder {
 public:
  explicit DistilBertModel(const DistilBertConfig& c, const std::string& config_file = "config.json");
  EncoderOutput encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                       const torch::Tensor& token_type_ids, bool want_hidden_states) override;
  int64_t hidden_size() const override { return config_.dim; }
  std::string prefix() const override { return "distilbert"; }
  void init_weights() override;
  const DistilBertConfig& config() const { return config_; }

 private:
  DistilBertConfig config_;
  torch::nn::Embedding word_{nullptr}, position_{nullptr};
  torch::nn::LayerNorm emb_norm_{nullptr};
  std::vector<std::shared_ptr<DistilBertLayer>> layers_;
};

}  // namespace nlpc::models
