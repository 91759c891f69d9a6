#pragma once
// Building blocks shared by the BERT-family encoders: Hugging Face activations (ACT2FN), attention
// masks as HF builds them, fused multi-head self-attention and HF weight initialisation.
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <torch/torch.h>

namespace nlpc::models {

using Activation = std::function<torch::Tensor(const torch::Tensor&)>;

// transformers.activations.ACT2FN: gelu (exact erf), gelu_python, gelu_new / gelu_accurate (tanh
// approximation), gelu_pytorch_tanh, gelu_fast, quick_gelu, relu, relu2, relu6, leaky_relu, silu,
// swish, mish, tanh, sigmoid, linear. Unknown names -> InputError naming `file` and listing these.
Activation make_activation(const std::string& name, const std::string& file);
std::string supported_activations();

// attention_mask [batch, seq] (1 = token, 0 = padding, any integer or float type) -> additive
// bias [batch, 1, 1, seq] in `dtype`: 0 for tokens, torch.finfo(dtype).min for padding, as
// transformers' get_extended_attention_mask computes it. Undefined mask -> undefined bias.
torch::Tensor attention_bias(const torch::Tensor& attention_mask, torch::Dtype dtype);

// y = x W^T + b over the last dimension through one addmm (x may be [.., in]).
torch::Tensor linear_forward(const torch::Tensor& x, const torch::nn::Linear& layer);

// Multi-head self-attention with separate q/k/v Linear modules (HF parameter layout), computed as
// one fused QKV matmul. In inference (no grad) the concatenated weight is cached and rebuilt when
// any of the three weights changes (data pointer or version counter); the cache is guarded by a
// mutex, so concurrent inference on one model (serve) is safe.
// x: [batch, seq, hidden], bias: [batch, 1, 1, seq] or undefined -> context [batch, seq, hidden]
// (before the output projection). Attention dropout `dropout_p` applies in training only.
class FusedQKV {
 public:
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias, const torch::nn::Linear& q,
                        const torch::nn::Linear& k, const torch::nn::Linear& v, int64_t num_heads,
                        double dropout_p, bool training);

 private:
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();
  torch::Tensor weight_, bias_;
  std::vector<int64_t> key_;
};

// transformers' _init_weights for BERT-family models, applied to every submodule of `module`:
// Linear weight ~ N(0, std), bias 0; Embedding ~ N(0, std) with the padding_idx row zeroed;
// LayerNorm weight 1, bias 0.
void hf_init_weights(torch::nn::Module& module, double std);

}  // namespace nlpc::models
