#include "nlpc/models/bert/distilbert.h"

#include <cmath>

#include "nlpc/core/error.h"

namespace nlpc::models {
namespace {

using torch::nn::Linear;

torch::nn::LayerNorm make_norm(int64_t dim) {
  // DistilBERT hard-codes eps=1e-12 for every LayerNorm.
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-12));
}

}  // namespace

DistilBertLayer::DistilBertLayer(const DistilBertConfig& c, const Activation& act)
    : config_(c), act_(act), gelu_(c.activation == "gelu") {
  const int64_t d = c.dim;
  // MultiHeadSelfAttention: attention.{q_lin,k_lin,v_lin,out_lin}
  AttentionOptions a;
  a.hidden_size = d;
  a.num_heads = c.n_heads;
  a.q_name = "q_lin";
  a.k_name = "k_lin";
  a.v_name = "v_lin";
  a.out_name = "out_lin";
  a.dropout = c.attention_dropout;
  attention_ = register_module("attention", MultiHeadAttention(a));
  sa_norm_ = register_module("sa_layer_norm", make_norm(d));
  auto ffn = register_module("ffn", std::make_shared<torch::nn::Module>());
  lin1_ = ffn->register_module("lin1", Linear(d, c.hidden_dim));
  lin2_ = ffn->register_module("lin2", Linear(c.hidden_dim, d));
  out_norm_ = register_module("output_layer_norm", make_norm(d));
}

torch::Tensor DistilBertLayer::forward(const torch::Tensor& x, const torch::Tensor& bias) {
  // x: [batch, seq, dim]; MultiHeadSelfAttention (padding keys get finfo.min) + residual + sa_layer_norm
  torch::Tensor sa = layer_norm_forward(attention_->forward(x, bias).add_(x), sa_norm_);
  // FFN: lin1 -> activation -> lin2 -> dropout, residual + output_layer_norm -> [batch, seq, dim]
  torch::Tensor hidden = gelu_ && !torch::GradMode::is_enabled() ? linear_gelu_forward(sa, lin1_)
                                                                  : act_(linear_forward(sa, lin1_));
  torch::Tensor f = maybe_dropout(linear_forward(hidden, lin2_), config_.dropout, is_training());
  return layer_norm_forward(f.add_(sa), out_norm_);
}

DistilBertModel::DistilBertModel(const DistilBertConfig& c, const std::string& config_file) : config_(c) {
  Activation act = make_activation(c.activation, config_file);
  auto emb = register_module("embeddings", std::make_shared<torch::nn::Module>());
  word_ = emb->register_module(
      "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.dim).padding_idx(c.pad_token_id)));
  position_ = emb->register_module("position_embeddings", torch::nn::Embedding(c.max_position_embeddings, c.dim));
  emb_norm_ = emb->register_module("LayerNorm", make_norm(c.dim));
  auto transformer = register_module("transformer", std::make_shared<torch::nn::Module>());
  auto list = transformer->register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layers; ++i) {
    layers_.push_back(std::make_shared<DistilBertLayer>(c, act));
    list->push_back(layers_.back());
  }
  if (c.sinusoidal_pos_embds) position_->weight.set_requires_grad(false);
}

void DistilBertModel::init_weights() {
  hf_init_weights(*this, config_.initializer_range);
  if (!config_.sinusoidal_pos_embds) return;
  // create_sinusoidal_embeddings: angle(pos, j) = pos / 10000^(2 (j // 2) / dim); sin on even
  // columns, cos on odd ones.
  torch::NoGradGuard no_grad;
  const int64_t n = config_.max_position_embeddings, dim = config_.dim;
  auto pos = torch::arange(n, torch::kDouble).unsqueeze(1);
  auto j = torch::arange(dim, torch::kDouble);
  auto angle = pos / torch::pow(10000.0, 2.0 * torch::floor_divide(j, 2) / static_cast<double>(dim));
  auto w = torch::empty({n, dim}, torch::kDouble);
  w.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, torch::indexing::None, 2)},
               torch::sin(angle.index({torch::indexing::Slice(), torch::indexing::Slice(0, torch::indexing::None, 2)})));
  w.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None, 2)},
               torch::cos(angle.index({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None, 2)})));
  position_->weight.copy_(w);
}

EncoderOutput DistilBertModel::encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                      const torch::Tensor& /*token_type_ids*/, bool want_hidden_states) {
  // input_ids: [batch, seq]
  const int64_t seq = input_ids.size(1);
  check_sequence_length(seq, config_.max_position_embeddings);
  EncoderOutput out;
  // Embeddings: word + position, LayerNorm, dropout -> [batch, seq, dim]
  torch::Tensor x = torch::embedding(word_->weight, input_ids, config_.pad_token_id);
  x.add_(position_->weight.narrow(0, 0, seq));
  x = maybe_dropout(layer_norm_forward(x, emb_norm_), config_.dropout, is_training());
  run_encoder_layers(layers_, x, attention_mask, want_hidden_states, out);
  return out;
}

}  // namespace nlpc::models
