// Saving and loading the n-gram baseline (config.json + model.safetensors).
#include "nlpc/models/ngram_linear.h"

#include "nlpc/core/error.h"

namespace nlpc::models {

void NgramModel::save(const std::string& dir) const {
  (void)dir;
  throw RuntimeError("NgramModel::save: not implemented yet");
}

NgramModel NgramModel::load(const std::string& dir) {
  throw RuntimeError("NgramModel::load: not implemented yet: " + dir);
}

}  // namespace nlpc::models
