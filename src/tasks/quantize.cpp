// `nlpc models quantize`: see include/nlpc/tasks/quantize.h.
#include "nlpc/tasks/quantize.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/io/safetensors.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/inspect.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/models/registry.h"
#include "nlpc/tasks/asr/transcriber.h"
#include "nlpc/tasks/classification/classifier.h"
#include "nlpc/tasks/registry.h"
#include "nlpc/tasks/summarization/summarizer.h"

namespace nlpc::tasks {
namespace fs = std::filesystem;

namespace {
uint64_t weights_bytes(const std::string& dir) {
  const std::string w = models::find_weights(dir);
  uint64_t n = 0;
  std::error_code ec;
  if (w.size() > 11 && w.compare(w.size() - 11, 11, ".index.json") == 0) {
    for (const auto& e : fs::directory_iterator(fs::path(w).parent_path())) {
      const std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".safetensors" || ext == ".bin")) n += fs::file_size(e.path(), ec);
    }
    return n;
  }
  return fs::file_size(w, ec);
}
}  // namespace

QuantizeResult quantize_folder(const std::string& dir, const std::string& out) {
  std::error_code ec;
  if (!fs::is_directory(dir)) throw InputError(dir, 0, 0, "not a model folder");
  if (fs::exists(out) && fs::equivalent(dir, out, ec)) {
    throw UsageError("--to " + out + " is the source folder; give a new folder");
  }
  if (fs::exists(out) && (!fs::is_directory(out) || !fs::is_empty(out))) {
    throw UsageError("--to " + out + " already exists and is not an empty folder; give a new folder (nothing "
                     "in it was changed)");
  }
  nlohmann::json config = models::read_model_config(dir);
  QuantizeResult r;
  r.model_type = config.value("model_type", std::string());
  if (r.model_type == "nlpc-ngram") {
    throw UsageError(dir + " holds the n-gram baseline: int8 quantization applies to the Transformer models "
                           "(BERT family, T5, Whisper)");
  }
  models::int8::require_engine("nlpc models quantize");
  r.engine = models::int8::engine();
  Pipeline p = open_pipeline(dir, "cpu", "int8");
  // Written into a temporary folder beside `out`, put in place when complete: an interrupted or
  // failed run leaves no half-written model folder.
  AtomicDir folder(out);
  const fs::path tmp = folder.temp_path();
  r.weights = (tmp / "model.safetensors").string();
  if (p.classifier) {
    p.classifier->save_weights(r.weights);
  } else if (p.summarizer) {
    p.summarizer->save_weights(r.weights);
  } else if (p.transcriber) {
    p.transcriber->save_weights(r.weights);
  }
  auto file = safetensors::File::open(r.weights);
  for (const auto& t : file->tensors()) {
    const std::string suffix = std::string(".") + models::int8::kScaleBuffer;
    if (t.name.size() > suffix.size() && t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      ++r.int8_layers;
    }
  }
  if (r.int8_layers == 0) throw RuntimeError(dir + ": no Linear layer was quantized");
  r.bytes_before = weights_bytes(dir);
  r.bytes_after = fs::file_size(r.weights, ec);
  config["quantization_config"] = {
      {"quant_method", "nlpc_int8_dynamic"},
      {"scheme", models::int8::kScheme},
      {"bits", 8},
      {"weights", "int8, symmetric per output channel (<layer>.weight I8 + <layer>.weight_scale F32)"},
      {"activations", "uint8, asymmetric per tensor, quantized at run time"},
      {"quantized_layers", r.int8_layers},
      {"modules_in_fp32", "embeddings, LayerNorm, convolutions, pooler, classifier and LM heads"}};
  write_file_atomic((tmp / "config.json").string(), config.dump(2) + "\n");
  r.copied = models::copy_other_files(dir, tmp.string());
  folder.commit();  // over an empty folder, or a new name
  r.weights = (fs::path(out) / "model.safetensors").string();
  return r;
}

}  // namespace nlpc::tasks
