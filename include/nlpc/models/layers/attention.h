#pragma once
// The one multi-head attention of nlpc, shared by BERT, DistilBERT, T5 and Whisper (self- and
// cross-attention, with or without a key/value cache). The projections are registered under the
// Hugging Face submodule names given in the options, so every checkpoint key stays HF's:
//   BERT        attention.self.{query,key,value}   (no output projection: attention.output.dense)
//   DistilBERT  attention.{q_lin,k_lin,v_lin,out_lin}
//   T5          SelfAttention/EncDecAttention.{q,k,v,o}, no biases, no scaling,
//               + relative_attention_bias (Embedding(buckets, heads)) in the first layer of a stack
//   Whisper     self_attn/encoder_attn.{q_proj,k_proj,v_proj,out_proj}, k_proj without bias
//
// Usage (DistilBERT):
//   AttentionOptions a;
//   a.hidden_size = 768; a.num_heads = 12;
//   a.q_name = "q_lin"; a.k_name = "k_lin"; a.v_name = "v_lin"; a.out_name = "out_lin";
//   attention_ = register_module("attention", MultiHeadAttention(a));
//   y = attention_->forward(x, attention_bias(mask, x.scalar_type()));
// Decoders pass a KVCache per layer (self-attention) and the encoder states as `memory` plus a
// second KVCache (cross-attention).
//
// Inference fast path (no autograd, self-attention without cache): the three projections run as one
// GEMM over a cached concatenated weight (the 1/sqrt(head_dim) scale folded into its query rows),
// rebuilt when a weight changes (data pointer or version counter) and guarded by a mutex, so
// concurrent inference on one model (serve) is safe. With several libtorch threads on the CPU in
// float32 (see fast_inference in layers.h), attention then runs as one task per (sequence, head)
// on strided views of the fused projection, writing each head's context straight into its slot.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace nlpc::models {

// Keys/values of one attention module: [batch, heads, len, head_dim]. Self-attention appends the
// new positions on every call; cross-attention fills it from the encoder states once and reuses it.
struct KVCache {
  torch::Tensor k, v;
  bool defined() const { return k.defined(); }
  int64_t length() const { return k.defined() ? k.size(2) : 0; }
  // Beam search: keeps the batch rows `index` ([n] int64).
  void reorder(const torch::Tensor& index);
  void clear() { k = v = torch::Tensor(); }
};

struct AttentionOptions {
  int64_t hidden_size = 0;  // width of the input (and of the output projection's output)
  int64_t num_heads = 1;
  int64_t head_dim = 0;  // 0: hidden_size / num_heads (T5: d_kv)
  // HF submodule names of the projections; out_name empty = no output projection (BERT).
  std::string q_name = "q", k_name = "k", v_name = "v", out_name = "o";
  bool q_bias = true, k_bias = true, v_bias = true, out_bias = true;
  bool scaled = true;  // scores * head_dim^-0.5 (false for T5)
  bool causal = false;  // self-attention: the query at position p sees keys 0..p (past included)
  bool softmax_fp32 = false;  // half/bfloat16 scores go through softmax in float32 (T5)
  double dropout = 0.0;  // on the attention probabilities, in training only
  int64_t relative_attention_buckets = 0;  // > 0: registers relative_attention_bias (T5)
  bool fused_inference = true;  // the inference fast path above
  // Register k, v, q (HF Whisper's order) instead of q, k, v: the order of a seeded initialisation.
  bool register_kvq = false;
};

// The attention math shared by every path that has head-major tensors.
// q: [batch, heads, q_len, head_dim] (already scaled), k/v: [batch, heads, k_len, head_dim],
// bias: additive, broadcastable to [batch, heads, q_len, k_len], or undefined
// -> context [batch, q_len, heads * head_dim]. `dropout` applies to the probabilities when > 0.
torch::Tensor scaled_dot_product(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 const torch::Tensor& bias, double dropout, bool softmax_fp32);

// [1, 1, q_len, k_len] additive causal mask: 0 where key <= k_len - q_len + query, -inf elsewhere.
torch::Tensor causal_bias(int64_t q_len, int64_t k_len, const torch::TensorOptions& options);

class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  explicit MultiHeadAttentionImpl(const AttentionOptions& options);
  // x: [batch, q_len, hidden]; bias: additive, broadcastable to [batch, heads, q_len, k_len] (padding
  // mask, T5 position bias) or undefined; memory: [batch, k_len, hidden] for cross-attention (keys and
  // values from it; with a filled cache it is not read) or undefined for self-attention.
  // -> [batch, q_len, hidden] after the output projection, [batch, q_len, heads * head_dim] without.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias = {}, KVCache* cache = nullptr,
                        const torch::Tensor& memory = {});
  const AttentionOptions& options() const { return options_; }

  // Registered under options.{q,k,v,out}_name; out is null without an output projection.
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, out{nullptr};
  torch::nn::Embedding relative_attention_bias{nullptr};  // only with relative_attention_buckets > 0

 private:
  // [batch, len, heads * head_dim] -> [batch, heads, len, head_dim]
  torch::Tensor split_heads(const torch::Tensor& x) const;
  // Self-attention through the fused QKV projection (inference, no cache).
  torch::Tensor fused_forward(const torch::Tensor& x, const torch::Tensor& bias);
  // Cached [3 * inner, hidden] weight, [3 * inner] bias (undefined when no projection has one) and,
  // for int8 projections (nlpc/models/layers/int8.h), [3 * inner] weight scales (undefined for float).
  struct Fused {
    torch::Tensor weight, bias, scale;
  };
  Fused fused_weights();
  torch::Tensor project_out(const torch::Tensor& ctx);

  AttentionOptions options_;
  double scale_ = 1.0;
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();
  torch::Tensor fused_weight_, fused_bias_, fused_scale_;
  std::vector<int64_t> fused_key_;
};
TORCH_MODULE(MultiHeadAttention);

}  // namespace nlpc::models
