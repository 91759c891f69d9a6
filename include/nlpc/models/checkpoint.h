#pragma once
// libtorch bridge for checkpoints: safetensors files and PyTorch pickles (pytorch_model.bin, zip or
// legacy format, read by nlpc's own restricted reader in nlpc/io/torch_checkpoint.h), single or
// sharded through *.index.json, into a name -> tensor map; strict loading of such a map into a
// torch::nn::Module; saving a module as model.safetensors.
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace nlpc::models {

using StateDict = std::map<std::string, torch::Tensor>;

// As `float_dtype`: keep every tensor in the dtype of the file (fp16/bf16 weights stay fp16/bf16).
constexpr torch::Dtype kKeepDtype = torch::Dtype::Undefined;

// Reads one .safetensors file. Floating tensors (F64/F32/F16/BF16) are converted to `float_dtype`;
// integer and bool tensors keep their type. Tensors are copied out of the mapping (the file is
// closed on return). Throws InputError for hostile or unsupported files.
StateDict read_safetensors(const std::string& path, torch::Dtype float_dtype = torch::kFloat);

// The weights file of a model folder, in transformers' order: model.safetensors,
// model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json (`path` itself when
// it is a file). InputError when there is none (naming TensorFlow/Flax files when those are there).
std::string find_weights(const std::string& path);

// Loads the weights of a Hugging Face model folder (see find_weights) or of one weights file
// (.safetensors, .bin/.pt/.pth, or a sharded *.index.json). Floating tensors are converted to
// `float_dtype` (kKeepDtype: kept as stored); integer and bool tensors keep their type.
StateDict load_checkpoint(const std::string& path, torch::Dtype float_dtype = torch::kFloat);

// Writes tensors (moved to CPU, made contiguous) as one safetensors file, atomically, with
// metadata {"format": "pt"} as transformers writes it, plus {"nlpc.quantization": scheme} when the
// tensors hold int8 layers (nlpc/models/layers/int8.h).
void save_safetensors(const std::string& path, const StateDict& tensors);

// The "__metadata__" of a model folder's (or weights file's) safetensors weights: of the file, or of
// the first shard of a sharded checkpoint; empty for PyTorch pickles.
std::map<std::string, std::string> weights_metadata(const std::string& path);

// named_parameters() + named_buffers() of a module (recursive, HF-style dotted names).
StateDict module_state_dict(const torch::nn::Module& module);

struct LoadReport {
  std::vector<std::string> ignored;  // unexpected keys matched by `ignore_unexpected` prefixes
};

// Strict loading: every parameter and buffer of `module` must be present in `weights` with the
// same shape, and every key of `weights` must be used (keys starting with a prefix in
// `ignore_unexpected` are skipped and listed in the report). All problems are collected and
// reported together in one InputError naming `source`: missing keys, unexpected keys, shape
// mismatches with both shapes. Nothing is copied unless everything matches. Values are copied
// into the module's tensors (keeping the module's device and dtype).
LoadReport load_state_dict_strict(torch::nn::Module& module, const StateDict& weights,
                                  const std::string& source,
                                  const std::vector<std::string>& ignore_unexpected = {});

std::string shape_string(const torch::Tensor& t);  // "[768, 3072]"

}  // namespace nlpc::models
