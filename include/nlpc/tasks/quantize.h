#pragma once
// `nlpc models quantize DIR --to OUT`: a model folder whose Transformer layers are stored int8
// (nlpc/models/layers/int8.h), loadable directly as int8 by every command. Torch-free.
#include <cstdint>
#include <string>
#include <vector>

namespace nlpc::tasks {

struct QuantizeResult {
  std::string weights;                // OUT/model.safetensors
  std::string model_type, engine;
  int64_t int8_layers = 0;            // Linear layers stored int8
  uint64_t bytes_before = 0, bytes_after = 0;  // weights file sizes
  std::vector<std::string> copied;    // other files copied (tokenizer files, generation_config, ...)
};

// Opens DIR with --precision int8 (any Transformer folder: BERT family, T5, Whisper; float or
// already int8), writes OUT (created; not DIR): model.safetensors with the int8 layers, their
// weight_scale tensors and the metadata entry of the scheme; config.json with a
// "quantization_config" {"quant_method": "nlpc_int8_dynamic", ...} entry; every other file of DIR
// except weights. Each file is written atomically. UsageError for n-gram folders.
QuantizeResult quantize_folder(const std::string& dir, const std::string& out);

}  // namespace nlpc::tasks
