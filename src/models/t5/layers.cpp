// T5 building blocks: RMS layer norm, attention with bucketed relative position bias, feed-forward.
// Semantics follow transformers/models/t5/modeling_t5.py; the fp16 inf-clamping of T5Block is not
// reproduced (nlpc runs T5 in fp32).
#include <cmath>

#include "nlpc/core/error.h"
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

T5AttentionImpl::T5AttentionImpl(const T5Config& c, bool is_decoder, bool has_relative_attention_bias)
    : is_decoder_(is_decoder),
      has_bias_(has_relative_attention_bias),
      n_heads_(c.num_heads),
      d_kv_(c.d_kv),
      num_buckets_(c.relative_attention_num_buckets),
      max_distance_(c.relative_attention_max_distance),
      dropout_(c.dropout_rate) {
  const int64_t inner = c.inner_dim();
  auto lin = [](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)); };
  q = register_module("q", lin(c.d_model, inner));
  k = register_module("k", lin(c.d_model, inner));
  v = register_module("v", lin(c.d_model, inner));
  o = register_module("o", lin(inner, c.d_model));
  if (has_bias_)
    relative_attention_bias =
        register_module("relative_attention_bias", torch::nn::Embedding(num_buckets_, n_heads_));
}

torch::Tensor T5AttentionImpl::shape_heads(const torch::Tensor& x) const {
  // x: [batch, len, heads * d_kv] -> [batch, heads, len, d_kv]
  return x.view({x.size(0), -1, n_heads_, d_kv_}).transpose(1, 2);
}

torch::Tensor T5AttentionImpl::compute_bias(int64_t q_len, int64_t k_len, int64_t past_len) const {
  auto dev = relative_attention_bias->weight.device();
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(dev);
  auto context = torch::arange(past_len, past_len + q_len, opts).unsqueeze(1);  // [q, 1]
  auto memory = torch::arange(k_len, opts).unsqueeze(0);                        // [1, k]
  auto buckets = t5_relative_position_bucket(memory - context, !is_decoder_, num_buckets_, max_distance_);
  auto values = torch::embedding(relative_attention_bias->weight, buckets);  // [q, k, heads]
  return values.permute({2, 0, 1}).unsqueeze(0);   // [1, heads, q, k]
}

torch::Tensor T5AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& kv_states,
                                       const torch::Tensor& mask, torch::Tensor& position_bias,
                                       KVCache* cache, int64_t past_len) {
  // x: [batch, q_len, d_model]
  const int64_t batch = x.size(0), q_len = x.size(1);
  auto query = shape_heads(q(x));  // [batch, heads, q_len, d_kv]
  torch::Tensor key, value;
  if (kv_states.defined()) {  // cross-attention: keys/values from the encoder, computed once
    if (cache && cache->defined()) {
      key = cache->k;
      value = cache->v;
    } else {
      key = shape_heads(k(kv_states));
      value = shape_heads(v(kv_states));
      if (cache) *cache = {key, value};
    }
  } else {
    key = shape_heads(k(x));
    value = shape_heads(v(x));
    if (cache) {
      if (cache->defined()) {
        key = torch::cat({cache->k, key}, 2);
        value = torch::cat({cache->v, value}, 2);
      }
      *cache = {key, value};
    }
  }
  const int64_t k_len = key.size(2);
  auto scores = torch::matmul(query, key.transpose(3, 2));  // [batch, heads, q_len, k_len], no scaling
  if (!position_bias.defined()) {
    if (has_bias_) {
      position_bias = compute_bias(q_len, k_len, past_len);
    } else {
      position_bias = torch::zeros({1, n_heads_, q_len, k_len}, scores.options());
    }
    if (mask.defined()) position_bias = position_bias + mask;  // mask: [batch, 1, q_len|1, k_len]
  }
  scores = scores + position_bias;
  auto weights = torch::softmax(scores.to(torch::kFloat), -1).to(scores.scalar_type());
  weights = torch::dropout(weights, dropout_, is_training());
  auto out = torch::matmul(weights, value);  // [batch, heads, q_len, d_kv]
  out = out.transpose(1, 2).contiguous().view({batch, q_len, n_heads_ * d_kv_});
  return o(out);  // [batch, q_len, d_model]
}

// ---------------------------------------------------------------------------------------------

T5LayerSelfAttentionImpl::T5LayerSelfAttentionImpl(const T5Config& c, bool is_decoder, bool has_bias)
    : dropout_(c.dropout_rate) {
  SelfAttention = register_module("SelfAttention", T5Attention(c, is_decoder, has_bias));
  layer_norm = register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5LayerSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                                torch::Tensor& position_bias, KVCache* cache, int64_t past_len) {
  // x: [batch, len, d_model]; pre-norm residual
  auto h = SelfAttention->forward(layer_norm(x), {}, mask, position_bias, cache, past_len);
  return x + torch::dropout(h, dropout_, is_training());
}

T5LayerCrossAttentionImpl::T5LayerCrossAttentionImpl(const T5Config& c) : dropout_(c.dropout_rate) {
  EncDecAttention = register_module("EncDecAttention", T5Attention(c, /*is_decoder=*/true, false));
  layer_norm = register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5LayerCrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& encoder_states,
                                                 const torch::Tensor& encoder_mask, torch::Tensor& position_bias,
                                                 KVCache* cache) {
  // x: [batch, tgt, d_model]; encoder_states: [batch, src, d_model]
  auto h = EncDecAttention->forward(layer_norm(x), encoder_states, encoder_mask, position_bias, cache, 0);
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
    h = apply_activation(act_, wi_0(x)) * wi_1(x);
  } else {
    h = apply_activation(act_, wi(x));
  }
  h = torch::dropout(h, dropout_, is_training());
  return wo(h);
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
