#pragma once
// What `nlpc models inspect` reports about a Hugging Face model folder — and what loading it would
// do — without loading it into a model: the family (model_type, inferred when absent), the weights
// file and its format, every tensor with its dtype and shape, the tokenizer, and the key plan
// (renamed, dropped, prefix added/removed, ignored heads, newly initialised, missing, unexpected),
// computed by the same rules the loaders apply. Also `convert_folder` (`nlpc models convert`).
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/models/hf_keys.h"

namespace nlpc::models {

struct TensorSummary {
  std::string name;
  std::string dtype;  // safetensors names: F32, F16, BF16, I64, ...
  std::vector<int64_t> shape;
};

struct FolderReport {
  std::string dir;
  std::string model_type;
  std::string model_type_source;  // "" when config.json names it; else how it was inferred
  std::vector<std::string> architectures;
  std::string task;
  std::string weights_file;       // the file find_weights picked
  std::string weights_format;     // safetensors | PyTorch zip | PyTorch legacy | sharded ... (N files)
  std::string quantization;       // "" (float), or the int8 scheme of the weights' metadata
  int64_t int8_layers = 0;        // Linear layers stored int8 (<name>.weight I8 + <name>.weight_scale)
  std::vector<TensorSummary> tensors;  // in name order, as stored (before key fix-ups)
  int64_t parameters = 0;         // elements of the floating tensors that fill the model (tied aliases once)
  std::vector<std::pair<std::string, int64_t>> dtypes;  // dtype -> tensor count
  std::string tokenizer;          // family, or "none (why)"
  int64_t vocab_size = 0;
  // the load plan
  KeyReport keys;
  int64_t loaded = 0;                    // checkpoint tensors that fill a model tensor
  std::vector<std::string> tied;         // aliases of tied weights, checked and skipped
  std::vector<std::string> ignored;      // pre-training / other heads (dropped when fine-tuning)
  std::vector<std::string> initialised;  // model tensors a fine-tuning start initialises fresh
  std::vector<std::string> missing;      // model tensors absent from the checkpoint: an error
  std::vector<std::string> unexpected;   // checkpoint tensors nothing uses: an error
};

FolderReport inspect_folder(const std::string& dir);

struct ConvertResult {
  std::string weights;                 // OUT/model.safetensors
  size_t tensors = 0;
  uint64_t bytes = 0;
  std::vector<std::string> copied;     // other files copied (config.json, tokenizer files, ...)
};

// Writes `out` (created; must not be `dir`) with model.safetensors holding the folder's weights in
// their stored dtypes, keys fixed up as transformers does on load (gamma/beta renamed, recomputed
// position_ids buffers dropped) but otherwise unchanged, config.json with model_type filled in, and
// every other file of the folder except weights files. Each file is written atomically.
ConvertResult convert_folder(const std::string& dir, const std::string& out);

// Copies every regular file of `dir` except weights files and config.json into `out` (each written
// atomically): tokenizer files, generation_config.json, labels. Returns their names, sorted.
std::vector<std::string> copy_other_files(const std::string& dir, const std::string& out);

}  // namespace nlpc::models
