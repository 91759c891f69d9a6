// The multi-head attention shared by BERT, DistilBERT, T5 and Whisper. See
// include/nlpc/models/layers/attention.h.
#include "nlpc/models/layers/attention.h"

#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include "nlpc/core/error.h"
#include "nlpc/core/system.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/models/layers/layers.h"

namespace nlpc::models {
namespace {

torch::nn::Linear register_linear(torch::nn::Module& parent, const std::string& name, int64_t in, int64_t out,
                                  bool bias) {
  return parent.register_module(name, torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias)));
}

// bias: [batch|1, heads|1, q_len|1, k_len] -> the [q_len|1, k_len] slice of sequence `bi`, head `h`
torch::Tensor bias_slice(const torch::Tensor& bias, int64_t bi, int64_t h) {
  const torch::Tensor b = bias.select(0, bias.size(0) == 1 ? 0 : bi);
  return b.select(0, b.size(0) == 1 ? 0 : h);
}

// Per-(sequence, head) tasks over the fused projection. qkv: [batch, seq, 3 * inner] (query rows
// already scaled). Each task: scores [seq, seq] = q k^T + bias, softmax in place, context = probs v
// written straight into its [batch, seq, inner] slot. q/k/v are strided views into qkv (row stride
// 3 * inner), which BLAS takes without copies, so attention needs neither head-major copies nor a
// [batch, heads, seq, seq] buffer. Results equal scaled_dot_product's up to summation order.
torch::Tensor parallel_attention(const torch::Tensor& qkv, const torch::Tensor& bias, int64_t heads,
                                 int64_t head_dim) {
  const int64_t batch = qkv.size(0), seq = qkv.size(1), inner = heads * head_dim;
  torch::Tensor ctx = torch::empty({batch, seq, inner}, qkv.options());
  BlasThreadsScope single(1);
  const at::ThreadLocalState state;  // grad / inference mode of the caller, for the OpenMP workers
  at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
    at::ThreadLocalStateGuard guard(state);
    torch::Tensor scores = torch::empty({seq, seq}, qkv.options());
    for (int64_t i = begin; i < end; ++i) {
      const int64_t bi = i / heads, h = i % heads;
      const torch::Tensor rows = qkv.select(0, bi);  // [seq, 3 * inner]
      const torch::Tensor qh = rows.narrow(1, h * head_dim, head_dim);
      const torch::Tensor kh = rows.narrow(1, inner + h * head_dim, head_dim);
      const torch::Tensor vh = rows.narrow(1, 2 * inner + h * head_dim, head_dim);
      at::mm_out(scores, qh, kh.t());
      if (bias.defined()) scores.add_(bias_slice(bias, bi, h));
      at::_softmax_out(scores, scores, -1, false);
      torch::Tensor out = ctx.select(0, bi).narrow(1, h * head_dim, head_dim);
      at::mm_out(out, scores, vh);
    }
  });
  return ctx;
}

torch::Tensor add_bias(const torch::Tensor& a, const torch::Tensor& b) { return a.defined() ? a + b : b; }

}  // namespace

void KVCache::reorder(const torch::Tensor& index) {
  if (!defined()) return;
  k = k.index_select(0, index);
  v = v.index_select(0, index);
}

torch::Tensor scaled_dot_product(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 const torch::Tensor& bias, double dropout, bool softmax_fp32) {
  // q: [batch, heads, q_len, head_dim], k/v: [batch, heads, k_len, head_dim]
  torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2));  // [batch, heads, q_len, k_len]
  if (bias.defined()) scores.add_(bias);
  torch::Tensor probs = softmax_fp32 && scores.scalar_type() != torch::kFloat
                            ? torch::softmax(scores.to(torch::kFloat), -1).to(scores.scalar_type())
                            : torch::softmax(scores, -1);
  if (dropout > 0) probs = torch::dropout(probs, dropout, /*train=*/true);
  // context: [batch, heads, q_len, head_dim] -> [batch, q_len, heads * head_dim]
  torch::Tensor ctx = torch::matmul(probs, v);
  return ctx.transpose(1, 2).reshape({q.size(0), q.size(2), q.size(1) * q.size(3)});
}

torch::Tensor causal_bias(int64_t q_len, int64_t k_len, const torch::TensorOptions& options) {
  // query i (absolute position k_len - q_len + i) sees keys 0..k_len - q_len + i
  auto future = torch::ones({q_len, k_len}, options.dtype(torch::kBool)).triu(k_len - q_len + 1);
  return torch::zeros({q_len, k_len}, options)
      .masked_fill_(future, -std::numeric_limits<double>::infinity())
      .view({1, 1, q_len, k_len});
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(const AttentionOptions& options) : options_(options) {
  auto& o = options_;
  if (o.num_heads <= 0 || (o.head_dim == 0 && o.hidden_size % o.num_heads != 0)) {
    throw RuntimeError("attention: hidden size " + std::to_string(o.hidden_size) + " is not divisible by " +
                       std::to_string(o.num_heads) + " heads");
  }
  if (o.head_dim == 0) o.head_dim = o.hidden_size / o.num_heads;
  scale_ = o.scaled ? 1.0 / std::sqrt(static_cast<double>(o.head_dim)) : 1.0;
  const int64_t inner = o.num_heads * o.head_dim;
  // registration order fixes the order of a seeded initialisation: HF's order for each model
  if (o.register_kvq) {
    k = register_linear(*this, o.k_name, o.hidden_size, inner, o.k_bias);
    v = register_linear(*this, o.v_name, o.hidden_size, inner, o.v_bias);
    q = register_linear(*this, o.q_name, o.hidden_size, inner, o.q_bias);
  } else {
    q = register_linear(*this, o.q_name, o.hidden_size, inner, o.q_bias);
    k = register_linear(*this, o.k_name, o.hidden_size, inner, o.k_bias);
    v = register_linear(*this, o.v_name, o.hidden_size, inner, o.v_bias);
  }
  if (!o.out_name.empty()) out = register_linear(*this, o.out_name, inner, o.hidden_size, o.out_bias);
  if (o.relative_attention_buckets > 0) {
    relative_attention_bias = register_module(
        "relative_attention_bias", torch::nn::Embedding(o.relative_attention_buckets, o.num_heads));
  }
}

torch::Tensor MultiHeadAttentionImpl::split_heads(const torch::Tensor& x) const {
  // x: [batch, len, heads * head_dim] -> [batch, heads, len, head_dim]
  return x.view({x.size(0), x.size(1), options_.num_heads, options_.head_dim}).transpose(1, 2);
}

torch::Tensor MultiHeadAttentionImpl::project_out(const torch::Tensor& ctx) {
  // ctx: [batch, q_len, heads * head_dim] -> [batch, q_len, hidden]
  return out ? linear_forward(ctx, out) : ctx;
}

MultiHeadAttentionImpl::Fused MultiHeadAttentionImpl::fused_weights() {
  const bool quantized = int8::is_int8(q) && int8::is_int8(k) && int8::is_int8(v);
  std::vector<torch::Tensor> scales;
  if (quantized) scales = {int8::weight_scale(q), int8::weight_scale(k), int8::weight_scale(v)};
  std::vector<int64_t> key;
  for (const torch::nn::Linear* lin : {&q, &k, &v}) {
    for (const torch::Tensor* t : {&(*lin)->weight, &(*lin)->bias}) {
      key.push_back(t->defined() ? reinterpret_cast<int64_t>(t->data_ptr()) : 0);
      key.push_back(t->defined() ? static_cast<int64_t>(t->_version()) : -1);
      key.push_back(t->defined() ? static_cast<int64_t>(t->scalar_type()) : -1);
    }
  }
  for (const auto& s : scales) {
    key.push_back(reinterpret_cast<int64_t>(s.data_ptr()));
    key.push_back(static_cast<int64_t>(s._version()));
  }
  std::lock_guard<std::mutex> lock(*mutex_);
  if (key != fused_key_ || !fused_weight_.defined()) {
    // The score scale is folded into the query rows of the cached weight (or of its int8 scales).
    c10::InferenceMode off(false);
    if (quantized) {
      fused_weight_ = torch::cat({q->weight, k->weight, v->weight}, 0);
      fused_scale_ = torch::cat({scales[0] * scale_, scales[1], scales[2]}, 0);
    } else {
      fused_weight_ = torch::cat({q->weight * scale_, k->weight, v->weight}, 0);
      fused_scale_ = torch::Tensor();
    }
    fused_bias_ = torch::Tensor();
    if (q->bias.defined() || k->bias.defined() || v->bias.defined()) {
      const torch::TensorOptions bias_options = (q->bias.defined() ? q->bias : k->bias.defined() ? k->bias : v->bias).options();
      auto bias_or_zeros = [&](const torch::nn::Linear& lin) {
        return lin->bias.defined() ? lin->bias : torch::zeros({lin->weight.size(0)}, bias_options);
      };
      fused_bias_ = torch::cat({bias_or_zeros(q) * scale_, bias_or_zeros(k), bias_or_zeros(v)}, 0);
    }
    fused_key_ = key;
  }
  return {fused_weight_, fused_bias_, fused_scale_};
}

torch::Tensor MultiHeadAttentionImpl::fused_forward(const torch::Tensor& x, const torch::Tensor& bias) {
  // x: [batch, seq, hidden], bias: broadcastable to [batch, heads, seq, seq] or undefined
  const int64_t batch = x.size(0), seq = x.size(1), heads = options_.num_heads, d = options_.head_dim;
  const Fused f = fused_weights();
  const torch::Tensor &w = f.weight, &b = f.bias;
  const torch::Tensor x2 = x.reshape({batch * seq, x.size(2)});
  torch::Tensor qkv = f.scale.defined()          ? int8::linear(x2, w, f.scale, b)
                      : use_parallel_linear(x2, w) ? parallel_linear(x2, w, b)
                      : b.defined()              ? torch::addmm(b, x2, w.t())
                                                 : torch::mm(x2, w.t());  // [batch*seq, 3*inner]
  if (x2.size(0) >= 64 && fast_inference(x2) && (!bias.defined() || bias.dim() == 4)) {
    return project_out(parallel_attention(qkv.view({batch, seq, 3 * heads * d}), bias, heads, d));
  }
  // qkv: [batch*seq, 3*inner] -> [3, batch, heads, seq, head_dim]
  qkv = qkv.view({batch, seq, 3, heads, d}).permute({2, 0, 3, 1, 4});
  return project_out(scaled_dot_product(qkv[0], qkv[1], qkv[2], bias, 0.0, options_.softmax_fp32));
}

namespace {
// Self-attention projections with autograd on: Q, K and V from one GEMM over the concatenated
// weights (gradients flow back into the three Linear modules), as the old BERT path trained; three
// GEMMs of a small model cost more on few cores. x: [batch, seq, hidden] ->
// [3, batch, heads, seq, head_dim] (query unscaled).
torch::Tensor fused_training_qkv(const torch::Tensor& x, const torch::nn::Linear& q, const torch::nn::Linear& k,
                                 const torch::nn::Linear& v, int64_t heads, int64_t head_dim) {
  const int64_t batch = x.size(0), seq = x.size(1);
  const torch::Tensor w = torch::cat({q->weight, k->weight, v->weight}, 0);  // [3*inner, hidden]
  const torch::Tensor x2 = x.reshape({batch * seq, x.size(2)});
  torch::Tensor qkv;
  if (q->bias.defined() || k->bias.defined() || v->bias.defined()) {
    auto bias_or_zeros = [](const torch::nn::Linear& lin) {
      return lin->bias.defined() ? lin->bias : torch::zeros({lin->weight.size(0)}, lin->weight.options());
    };
    qkv = torch::addmm(torch::cat({bias_or_zeros(q), bias_or_zeros(k), bias_or_zeros(v)}, 0), x2, w.t());
  } else {
    qkv = torch::mm(x2, w.t());
  }
  return qkv.view({batch, seq, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
}
}  // namespace

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& bias, KVCache* cache,
                                              const torch::Tensor& memory) {
  // x: [batch, q_len, hidden], memory: [batch, k_len, hidden] or undefined
  const bool self_attention = !memory.defined();
  const int64_t q_len = x.size(1);
  if (self_attention && !cache && options_.fused_inference && !torch::GradMode::is_enabled()) {
    const bool mask_future = options_.causal && q_len > 1;
    return fused_forward(x, mask_future ? add_bias(bias, causal_bias(q_len, q_len, x.options())) : bias);
  }
  torch::Tensor query, key, value;  // [batch, heads, len, head_dim]
  if (self_attention && !cache && options_.fused_inference) {
    const torch::Tensor qkv = fused_training_qkv(x, q, k, v, options_.num_heads, options_.head_dim);
    query = scale_ != 1.0 ? qkv[0] * scale_ : qkv[0];
    key = qkv[1];
    value = qkv[2];
  } else {
    query = linear_forward(x, q);
    if (scale_ != 1.0) query = query * scale_;
    query = split_heads(query);
  }
  if (key.defined()) {
    // self-attention without a cache: done above
  } else if (!self_attention && cache && cache->defined()) {
    key = cache->k;  // cross-attention: computed from `memory` once
    value = cache->v;
  } else {
    const torch::Tensor& source = self_attention ? x : memory;
    key = split_heads(linear_forward(source, k));
    value = split_heads(linear_forward(source, v));
    if (self_attention && cache && cache->defined()) {
      key = torch::cat({cache->k, key}, 2);
      value = torch::cat({cache->v, value}, 2);
    }
    if (cache) *cache = {key, value};
  }
  torch::Tensor full_bias = bias;
  if (self_attention && options_.causal && q_len > 1) {
    full_bias = add_bias(bias, causal_bias(q_len, key.size(2), x.options()));
  }
  const double dropout = is_training() ? options_.dropout : 0.0;
  return project_out(scaled_dot_product(query, key, value, full_bias, dropout, options_.softmax_fp32));
}

}  // namespace nlpc::models
