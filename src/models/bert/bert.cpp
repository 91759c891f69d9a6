#include "nlpc/models/bert/bert.h"

#include "nlpc/core/error.h"

namespace nlpc::models {
namespace {

using torch::nn::Linear;
using torch::nn::LinearOptions;

std::shared_ptr<torch::nn::Module> child(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

torch::nn::LayerNorm layer_norm(torch::nn::Module& parent, int64_t dim, double eps) {
  return parent.register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps)));
}

}  // namespace

BertLayer::BertLayer(const BertConfig& c, const Activation& act)
    : config_(c), act_(act), gelu_(c.hidden_act == "gelu") {
  const int64_t h = c.hidden_size;
  auto attention = child(*this, "attention");
  // BertSelfAttention: attention.self.{query,key,value}; its output projection is BertSelfOutput's
  AttentionOptions a;
  a.hidden_size = h;
  a.num_heads = c.num_attention_heads;
  a.q_name = "query";
  a.k_name = "key";
  a.v_name = "value";
  a.out_name.clear();
  a.dropout = c.attention_probs_dropout_prob;
  self_ = attention->register_module("self", MultiHeadAttention(a));
  auto attn_out = child(*attention, "output");
  attn_dense_ = attn_out->register_module("dense", Linear(h, h));
  attn_norm_ = layer_norm(*attn_out, h, c.layer_norm_eps);
  intermediate_ = child(*this, "intermediate")->register_module("dense", Linear(h, c.intermediate_size));
  auto out = child(*this, "output");
  output_ = out->register_module("dense", Linear(c.intermediate_size, h));
  out_norm_ = layer_norm(*out, h, c.layer_norm_eps);
}

torch::Tensor BertLayer::forward(const torch::Tensor& x, const torch::Tensor& bias) {
  // x: [batch, seq, hidden]; BertSelfAttention + BertSelfOutput (post-LN residual)
  torch::Tensor ctx = self_->forward(x, bias);  // [batch, seq, hidden]
  torch::Tensor a = maybe_dropout(linear_forward(ctx, attn_dense_), config_.hidden_dropout_prob, is_training());
  a = layer_norm_forward(a.add_(x), attn_norm_);
  // BertIntermediate + BertOutput: [batch, seq, intermediate] -> [batch, seq, hidden]
  // in inference the exact GELU runs in place (no autograd needs its input), inside the int8 kernel
  // for int8 layers
  torch::Tensor i = gelu_ && !torch::GradMode::is_enabled() ? linear_gelu_forward(a, intermediate_)
                                                             : act_(linear_forward(a, intermediate_));
  torch::Tensor o = maybe_dropout(linear_forward(i, output_), config_.hidden_dropout_prob, is_training());
  return layer_norm_forward(o.add_(a), out_norm_);
}

BertModel::BertModel(const BertConfig& c, const std::string& config_file) : config_(c) {
  Activation act = make_activation(c.hidden_act, config_file);
  const int64_t h = c.hidden_size;
  auto emb = child(*this, "embeddings");
  word_ = emb->register_module(
      "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, h).padding_idx(c.pad_token_id)));
  position_ = emb->register_module("position_embeddings", torch::nn::Embedding(c.max_position_embeddings, h));
  token_type_ = emb->register_module("token_type_embeddings", torch::nn::Embedding(c.type_vocab_size, h));
  emb_norm_ = layer_norm(*emb, h, c.layer_norm_eps);
  auto encoder = child(*this, "encoder");
  auto list = encoder->register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    layers_.push_back(std::make_shared<BertLayer>(c, act));
    list->push_back(layers_.back());
  }
  pooler_ = child(*this, "pooler")->register_module("dense", Linear(h, h));
}

void check_sequence_length(int64_t seq, int64_t max_positions) {
  if (seq > max_positions) {
    throw UsageError("sequence length " + std::to_string(seq) + " exceeds the model's max_position_embeddings " +
                     std::to_string(max_positions) + "; truncate the input (max_length)");
  }
}

void BertModel::init_weights() { hf_init_weights(*this, config_.initializer_range); }

EncoderOutput BertModel::encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                const torch::Tensor& token_type_ids, bool want_hidden_states) {
  // input_ids: [batch, seq]
  const int64_t seq = input_ids.size(1);
  check_sequence_length(seq, config_.max_position_embeddings);
  EncoderOutput out;
  // BertEmbeddings: word + token_type + position, LayerNorm, dropout -> [batch, seq, hidden]
  torch::Tensor x = torch::embedding(word_->weight, input_ids, config_.pad_token_id);
  if (token_type_ids.defined()) {
    x.add_(torch::embedding(token_type_->weight, token_type_ids));
  } else {
    x.add_(token_type_->weight[0]);
  }
  x.add_(position_->weight.narrow(0, 0, seq));
  x = maybe_dropout(layer_norm_forward(x, emb_norm_), config_.hidden_dropout_prob, is_training());
  run_encoder_layers(layers_, x, attention_mask, want_hidden_states, out);
  // BertPooler: tanh(dense(x[:, 0])) -> [batch, hidden]
  out.pooled = torch::tanh(torch::addmm(pooler_->bias, out.last_hidden.select(1, 0), pooler_->weight.t()));
  return out;
}

}  // namespace nlpc::models
