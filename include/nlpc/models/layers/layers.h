#pragma once
// Building blocks shared by the models: Hugging Face activations (ACT2FN), attention masks as HF
// builds them, linear layers with the inference fast path, dropout and HF weight initialisation.
// The multi-head attention is in nlpc/models/layers/attention.h.
#include <functional>
#include <memory>
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
// linear_forward then the exact (erf) GELU, fused into the kernel for int8 layers (inference only:
// the float path runs GELU in place, which autograd cannot differentiate).
torch::Tensor linear_gelu_forward(const torch::Tensor& x, const torch::nn::Linear& layer);
// torch::gelu(apply_linear(x, layer)), fused for int8 layers in inference (Whisper's FFN).
torch::Tensor apply_linear_gelu(const torch::Tensor& x, const torch::nn::Linear& layer);

// The Linear's own forward (torch::linear) for float weights, linear_forward's int8 kernel for int8
// weights (T5 and Whisper feed-forward blocks: their float path stays torch's, bit for bit).
torch::Tensor apply_linear(const torch::Tensor& x, const torch::nn::Linear& layer);

// LayerNorm `ln` applied functionally (the BERT-family blocks call it on their own tensors).
torch::Tensor layer_norm_forward(const torch::Tensor& x, const torch::nn::LayerNorm& ln);

// x, or dropout(x, p) in training when p > 0.
torch::Tensor maybe_dropout(const torch::Tensor& x, double p, bool training);

// Inference fast path (no autograd, float32 on the CPU, several libtorch threads, OpenBLAS): the
// work is split over libtorch's thread pool and each worker calls a single-threaded GEMM.
bool fast_inference(const torch::Tensor& x);
// y = x2 w^T (+ b) for x2 [rows, in], by row blocks in parallel (b may be undefined).
torch::Tensor parallel_linear(const torch::Tensor& x2, const torch::Tensor& w, const torch::Tensor& b);
// Whether parallel_linear pays off for x2 [rows, in] and weight w (small weights, 64+ rows).
bool use_parallel_linear(const torch::Tensor& x2, const torch::Tensor& w);

// transformers' _init_weights for BERT-family models, applied to every submodule of `module`:
// Linear weight ~ N(0, std), bias 0; Embedding ~ N(0, std) with the padding_idx row zeroed;
// LayerNorm weight 1, bias 0.
void hf_init_weights(torch::nn::Module& module, double std);

}  // namespace nlpc::models
