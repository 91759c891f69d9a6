#pragma once
// The trainer's internal resume-state file: a JSON header plus raw little-endian tensor bytes,
//   "NLPCTS01" | uint64 header length | header JSON | tensor data
// header = {"meta": {...}, "tensors": [{"name", "dtype", "shape", "offset", "nbytes"}, ...]}.
// Not an interchange format (models are exchanged as HF folders); it exists so resume state is
// written atomically, read without the TorchScript pickler, and readable for debugging.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/train/model.h"

namespace nlpc::train {

struct TensorBundle {
  nlohmann::json meta;
  std::vector<NamedParameter> tensors;  // CPU tensors
  // The tensor named `name`; throws RuntimeError naming the file when it is missing.
  const torch::Tensor& get(const std::string& name) const;
  std::string source;  // file read from (for messages)
};

// Writes atomically (temporary file + rename). Tensors may live on any device.
void write_tensor_bundle(const std::string& path, const nlohmann::json& meta,
                         const std::vector<NamedParameter>& tensors);
// Throws RuntimeError when the file is missing, truncated or not a bundle.
TensorBundle read_tensor_bundle(const std::string& path);

}  // namespace nlpc::train
