#pragma once
// BERT encoder with transformers' modeling_bert.py semantics and parameter names (relative to the
// "bert." prefix): embeddings.{word,position,token_type}_embeddings, embeddings.LayerNorm,
// encoder.layer.N.attention.self.{query,key,value}, encoder.layer.N.attention.output.{dense,LayerNorm},
// encoder.layer.N.intermediate.dense, encoder.layer.N.output.{dense,LayerNorm}, pooler.dense.
#include "nlpc/models/bert/config.h"
#include "nlpc/models/bert/encoder.h"
#include "nlpc/models/layers/attention.h"
#include "nlpc/models/layers/layers.h"

namespace nlpc::models {

class BertLayer : public torch::nn::Module {
 public:
  BertLayer(const BertConfig& c, const Activation& act);
  // x: [batch, seq, hidden], bias: [batch, 1, 1, seq] -> [batch, seq, hidden]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias);

 private:
  BertConfig config_;
  Activation act_;
  bool gelu_ = false;
  MultiHeadAttention self_{nullptr};  // attention.self
  torch::nn::Linear attn_dense_{nullptr};
  torch::nn::LayerNorm attn_norm_{nullptr}, out_norm_{nullptr};
  torch::nn::Linear intermediate_{nullptr}, output_{nullptr};
};

class BertModel : public Encoder {
 public:
  explicit BertModel(const BertConfig& c, const std::string& config_file = "config.json");
  EncoderOutput encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                       const torch::Tensor& token_type_ids, bool want_hidden_states) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  std::string prefix() const override { return "bert"; }
  void init_weights() override;
  const BertConfig& config() const { return config_; }

 private:
  BertConfig config_;
  torch::nn::Embedding word_{nullptr}, position_{nullptr}, token_type_{nullptr};
  torch::nn::LayerNorm emb_norm_{nullptr};
  std::vector<std::shared_ptr<BertLayer>> layers_;
  torch::nn::Linear pooler_{nullptr};
};

}  // namespace nlpc::models
