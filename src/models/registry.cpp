#include "nlpc/models/registry.h"

#include <filesystem>

#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/models/bert/bert.h"
#include "nlpc/models/bert/distilbert.h"

namespace nlpc::models {
namespace {
std::shared_ptr<Encoder> make_bert(const ModelConfig& c, const std::string& file) {
  return std::make_shared<BertModel>(c.bert, file);
}
std::shared_ptr<Encoder> make_distilbert(const ModelConfig& c, const std::string& file) {
  return std::make_shared<DistilBertModel>(c.distilbert, file);
}
}  // namespace

const std::vector<Architecture>& supported_architectures() {
  // model_type, task, HF prefix, task class, base class, encoder factory
  static const std::vector<Architecture> list = {
      {"nlpc-ngram", "classification", "", "", "", nullptr},
      {"bert", "classification", "bert", "BertForSequenceClassification", "BertModel", &make_bert},
      {"distilbert", "classification", "distilbert", "DistilBertForSequenceClassification", "DistilBertModel",
       &make_distilbert},
      {"t5", "summarize", "transformer", "T5ForConditionalGeneration", "T5Model", nullptr},
      {"whisper", "asr", "model", "WhisperForConditionalGeneration", "WhisperModel", nullptr},
  };
  return list;
}

const Architecture& find_model_family(const std::string& model_type, const std::string& file) {
  std::string all;
  for (const auto& a : supported_architectures()) {
    if (a.model_type == model_type) return a;
    all += (all.empty() ? "" : ", ") + a.model_type;
  }
  throw InputError(file, 0, 0, "unsupported model_type '" + model_type + "' (supported: " + all + ")");
}

std::string supported_model_types() {
  std::string s;
  for (const auto& a : supported_architectures()) {
    if (a.create_encoder != nullptr) s += (s.empty() ? "" : ", ") + a.model_type;
  }
  return s;
}

const Architecture& find_architecture(const std::string& model_type, const std::string& file) {
  for (const auto& a : supported_architectures()) {
    if (a.model_type == model_type && a.create_encoder != nullptr) return a;
  }
  throw InputError(file, 0, 0, "unsupported model_type '" + model_type + "' (supported: " + supported_model_types() + ")");
}

std::shared_ptr<Encoder> create_encoder(const ModelConfig& config, const std::string& file) {
  return find_architecture(config.model_type, file).create_encoder(config, file);
}

nlohmann::json read_model_config(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  if (!std::filesystem::is_directory(dir)) {
    throw InputError(dir, 0, 0, "not a model folder (expected a folder with config.json and model weights)");
  }
  if (!file_exists(path)) {
    throw InputError(path, 0, 0, "missing: a model folder needs config.json (written by nlpc train or transformers)");
  }
  return read_json_file(path);
}

}  // namespace nlpc::models
