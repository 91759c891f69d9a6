// T5 building blocks: RMS layer norm, attention with bucketed relative position bias, feed-forward.
// Semantics follow transformers/models/t5/modeling_t5.py; the fp16 inf-clamping of T5Block is not
// reproduced (nlpc runs T5 in fp32).
#include <cmath>

#include "nlpc/core/error.h"
#include "nlpc/models/layers/layers.h"
#include "nlpc/models/t5/t5.h"

namespace nlpc::models {

torch::Tensor t5_relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                          int64_t num_buckets, int64_t max_distance) {
  auto buckets = torch::zeros_like(relative_position);
  torch::Tensor n;
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + (relative_position > 0).to(torch::kLong) * num_buckets;
    n = relative_position.abs();
  } else {
    n = -torch::min(relative_position, torch::zeros_like(relative_position));
  }
  // half of the buckets are exact increments, the other half grow logarithmically up to max_distance
  const int64_t max_exact = num_buckets / 2;
  auto is_small = n < max_exact;
  auto large = max_exact + (torch::log(n.to(torch::kFloat) / static_cast<double>(max_exact)) /
                            std::log(static_cast<double>(max_distance) / max_exact) *
                            static_cast<double>(num_buckets - max_exact))
                               .to(torch::kLong);
  large = torch::min(large, torch::full_like(large, num_buckets - 1));
  return buckets + torch::where(is_small, n, large);
}

// ---------------------------------------------------------------------------------------------

T5LayerNormImpl::T5LayerNormImpl(int64_t d_model, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({d_model}));
}

torch::Tensor T5LayerNormImpl::forward(const torch::Tensor& x) {
  // x: [..., d_model]; variance in fp32, no mean subtraction, no bias
  auto variance = x.to(torch::kFloat).pow(2).mean(-1, /*keepdim=*/true);
  auto h = x * torch::rsqrt(variance + eps_);
  if (weight.scalar_type() == torch::kHalf || weight.scalar_type() == torch::kBFloat16)
    h = h.to(weight.scalar_type());
  return weight * h;
}

// ---------------------------------------------------------------------------------------------

AttentionOptions t5_attention_options(const T5Config& c, bool relative_bias) {
  AttentionOptions a;
  a.hidden_size = c.d_model;
  a.num_heads = c.num_heads;
  a.head_dim = c.d_kv;
  a.q_name = "q";
  a.k_name = "k";
  a.v_name = "v";
  a.out_name = "o";
  a.q_bias = a.k_bias = a.v_bias = a.out_bias = false;
  a.scaled = false;
  a.softmax_fp32 = true;
  a.dropout = c.dropout_rate;
  a.relative_attention_buckets = relative_bias ? c.relative_attention_num_buckets : 0;
  return a;
}

torch::Tensor t5_compute_bias(const torch::nn::Embedding& table, const T5Config& c, bool is_decoder, int64_t q_len,
                              int64_t k_len, int64_t past_len) {
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(table->weight.device());
  auto context = torch::arange(past_len, past_len + q_len, opts).unsqueeze(1);  // [q, 1]
  auto memory = torch::arange(k_len, opts).unsqueeze(0);                        // [1, k]
  auto buckets = t5_relative_position_bucket(memory - context, !is_decoder, c.relative_attention_num_buckets,
                                             c.relative_attention_max_distance);
  auto values = torch::embedding(table->weight, buckets);  // [q, k, heads]
  return values.permute({2, 0, 1}).unsqueeze(0);           // [1, heads, q, k]
}

// ---------------------------------------------------------------------------------------------

T5LayerSelfAttentionImpl::T5LayerSelfAttentionImpl(const T5Config& c, bool is_decoder, bool has_bias)
    : config_(c), is_decoder_(is_decoder) {
  SelfAttention = register_module("SelfAttention", MultiHeadAttention(t5_attention_options(c, has_bias)));
  layer_norm = register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5LayerSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                                torch::Tensor& position_bias, KVCache* cache, int64_t past_len) {
  // x: [batch, len, d_model]; pre-norm residual
  const int64_t len = x.size(1), k_len = past_len + len;
  if (!position_bias.defined()) {
    const auto& table = SelfAttention->relative_attention_bias;
    position_bias = table ? t5_compute_bias(table, config_, is_decoder_, len, k_len, past_len)
                          : torch::zeros({1, config_.num_heads, len, k_len}, x.options());
    if (mask.defined()) position_bias = position_bias + mask;  // mask: [batch, 1, len|1, k_len]
  }
  auto h = SelfAttention->forward(layer_norm(x), position_bias, cache);
  return x + torch::dropout(h, config_.dropout_rate, is_training());
}

T5LayerCrossAttentionImpl::T5LayerCrossAttentionImpl(const T5Config& c) : dropout_(c.dropout_rate) {
  EncDecAttention = register_module("EncDecAttention", MultiHeadAttention(t5_attention_options(c, false)));
  layer_norm = register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5LayerCrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& encoder_states,
                                                 const torch::Tensor& encoder_mask, torch::Tensor& position_bias,
                                                 KVCache* cache) {
  // x: [batch, tgt, d_model]; encoder_states: [batch, src, d_model]. Without relative attention bias
  // the cross-attention bias is the encoder mask alone (HF adds it to zeros).
  if (!position_bias.defined()) position_bias = encoder_mask;
  auto h = EncDecAttention->forward(layer_norm(x), position_bias, cache, encoder_states);
  return x + torch::dropout(h, dropout_, is_training());
}

// ---------------------------------------------------------------------------------------------

T5DenseImpl::T5DenseImpl(const T5Config& c) : act_(c.dense_act_fn()), dropout_(c.dropout_rate) {
  auto lin = [](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)); };
  if (c.is_gated_act()) {
    wi_0 = register_module("wi_0", lin(c.d_model, c.d_ff));
    wi_1 = register_module("wi_1", lin(c.d_model, c.d_ff));
  } else {
    wi = register_module("wi", lin(c.d_model, c.d_ff));
  }
  wo = register_module("wo", lin(c.d_ff, c.d_model));
}

static torch::Tensor apply_activation(const std::string& act, const torch::Tensor& x) {
  if (act == "relu") return torch::relu(x);
  if (act == "gelu") return torch::gelu(x);
  if (act == "gelu_new" || act == "gelu_fast") {
    // transformers' NewGELUActivation, written out as it does (not torch's tanh kernel)
    const double c = std::sqrt(2.0 / M_PI);
    return 0.5 * x * (1.0 + torch::tanh(c * (x + 0.044715 * torch::pow(x, 3.0))));
  }
  if (act == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (act == "silu" || act == "swish") return torch::silu(x);
  throw RuntimeError("unsupported T5 activation '" + act + "'");
}

torch::Tensor T5DenseImpl::forward(const torch::Tensor& x) {
  // x: [batch, len, d_model] -> [batch, len, d_ff] -> [batch, len, d_model]
  torch::Tensor h;
  if (wi_0) {
    h = apply_activation(act_, apply_linear(x, wi_0)) * apply_linear(x, wi_1);
  } else {
    h = apply_activation(act_, apply_linear(x, wi));
  }
  h = torch::dropout(h, dropout_, is_training());
  return apply_linear(h, wo);
}

T5LayerFFImpl::T5LayerFFImpl(const T5Config& c) : dropout_(c.dropout_rate) {
  DenseReluDense = register_module("DenseReluDense", T5Dense(c));
  layer_norm = register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5LayerFFImpl::forward(const torch::Tensor& x) {
  // x: [batch, len, d_model]
  return x + torch::dropout(DenseReluDense(layer_norm(x)), dropout_, is_training());
}

}  // namespace nlpc::models
