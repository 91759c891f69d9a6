#pragma once
// Int8 inference on the CPU: dynamic quantization of the Linear layers of the encoder/decoder
// stacks (BERT, DistilBERT, T5, Whisper), as PyTorch's quantize_dynamic, ONNX Runtime's and
// CTranslate2's default CPU mode do it.
//
// Scheme (kScheme): weights int8, symmetric per output channel (scale = max|w_row| / 127.5, zero
// point 0, values clamped to [-128, 127], as PyTorch's per-channel symmetric observer); activations
// quantized at run time per tensor, asymmetric uint8 (min and max of the input, 0 exactly
// representable, as PyTorch's dynamic linear); int32 accumulation; output float32
// = acc * act_scale * weight_scale[n] + bias[n]. Embeddings, LayerNorm, softmax, convolutions and
// the task heads (classifier, pooler, LM head) stay float32.
//
// A quantized Linear keeps its Hugging Face names: `weight` becomes an int8 [out, in] tensor and a
// float32 buffer `weight_scale` [out] is registered next to it, so module_state_dict() and the
// safetensors written from it hold "<name>.weight" (I8) and "<name>.weight_scale" (F32), and
// save_safetensors adds the metadata entry kMetadataKey = kScheme that before_load() checks.
//
// Kernels: with oneDNN's headers at build time (Debian: libdnnl-dev; libtorch itself runs on the
// same libdnnl), nlpc calls oneDNN's u8 x s8 matmul directly with the weights packed once in the
// layout oneDNN picks (AMX or VNNI kernels where the CPU has them); otherwise libtorch's own
// quantized::linear_prepack / linear_dynamic through its `onednn` or `qnnpack` engine.
#include <string>
#include <vector>

#include <torch/torch.h>

#include "nlpc/models/checkpoint.h"

namespace nlpc::models::int8 {

constexpr const char* kScheme = "nlpc-int8-dynamic-v1";
constexpr const char* kMetadataKey = "nlpc.quantization";
constexpr const char* kScaleBuffer = "weight_scale";

// The int8 engine of this build and machine: "onednn" or "qnnpack", "" when there is none.
std::string engine();
// For --version: "onednn (oneDNN 2.6.3 called directly, CPU ISA: ...)", or why there is none.
std::string describe_engine();
// UsageError naming `what` (e.g. "--precision int8") when engine() is "".
void require_engine(const std::string& what);

struct QuantizedWeight {
  torch::Tensor weight;  // int8 [out, in]
  torch::Tensor scale;   // float32 [out]
};
// Per-output-channel symmetric quantization of a float [out, in] weight.
QuantizedWeight quantize_weight(const torch::Tensor& w);
// q * scale[:, None] in float32.
torch::Tensor dequantize_weight(const torch::Tensor& q, const torch::Tensor& scale);

// y = x2 (q * scale)^T + b for x2 [rows, in] (float32, CPU), q int8 [out, in], scale float32 [out],
// b float32 [out] or undefined -> [rows, out] float32. Weights are packed on first use and the
// packing is cached (keyed by q's storage and version); safe to call from several threads.
// With gelu true, the exact (erf) GELU is applied to y inside the kernel (oneDNN post-op).
torch::Tensor linear(const torch::Tensor& x2, const torch::Tensor& q, const torch::Tensor& scale,
                     const torch::Tensor& b, bool gelu = false);

// Whether a Linear holds int8 weights, and its weight_scale buffer (undefined when not int8).
bool is_int8(const torch::nn::Linear& layer);
torch::Tensor weight_scale(const torch::nn::Linear& layer);

// The Linear modules nlpc quantizes: those inside the repeated blocks of a stack, i.e. whose dotted
// name has a "layer.N.", "layers.N." or "block.N." component (BERT encoder.layer.N, DistilBERT
// transformer.layer.N, T5 encoder/decoder.block.N, Whisper encoder/decoder.layers.N).
bool quantizable(const std::string& module_name);
// Quantizes every quantizable float Linear of `root` in place; returns their names.
std::vector<std::string> quantize_module(torch::nn::Module& root);

// Whether `weights` hold int8 layers ("<name>.weight_scale" keys).
bool stored_int8(const StateDict& weights);
// The step between constructing `module` and loading `weights` (read from model folder `dir`) into
// it, for --precision `precision` ("auto": as stored, "fp32", "int8"):
//  - int8 weights: the folder's metadata must name kScheme (InputError otherwise: quantized by
//    another build or tool); "fp32" dequantizes them in `weights`, else the matching Linears of
//    `module` take the int8 layout so that strict loading fills them.
//  - float weights with "int8": nothing yet; returns true, and the caller runs quantize_module
//    once the weights are loaded.
// Requires the int8 engine whenever int8 inference results (UsageError otherwise).
bool before_load(torch::nn::Module& module, StateDict& weights, const std::string& precision,
                 const std::string& dir);
// UsageError when `module` holds int8 layers and `device` is not the CPU (the kernels are CPU ones).
void check_device(const torch::nn::Module& module, const c10::Device& device);
// "auto", "fp32" or "int8"; UsageError naming `what` otherwise.
void check_precision(const std::string& precision, const std::string& what);

}  // namespace nlpc::models::int8
