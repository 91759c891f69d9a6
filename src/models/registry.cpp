#include "nlpc/models/registry.h"

#include <cctype>
#include <filesystem>

#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
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

std::string infer_model_type(const nlohmann::json& config, const std::string& file, std::string* how) {
  if (config.is_object()) {
    auto mt = config.find("model_type");
    if (mt != config.end() && mt->is_string() && !mt->get<std::string>().empty()) return mt->get<std::string>();
  }
  // transformers' class names: the longest family stem in a class name wins (DistilBert over Bert)
  static const std::pair<const char*, const char*> kStems[] = {
      {"DistilBert", "distilbert"}, {"Bert", "bert"}, {"MT5", "t5"}, {"T5", "t5"}, {"Whisper", "whisper"}};
  auto arch = config.is_object() ? config.find("architectures") : config.end();
  if (config.is_object() && arch != config.end() && arch->is_array()) {
    for (const auto& a : *arch) {
      if (!a.is_string()) continue;
      const std::string name = a.get<std::string>();
      for (const auto& [stem, type] : kStems) {
        if (name.find(stem) != std::string::npos) {
          if (how) *how = "from architectures \"" + name + "\"";
          return type;
        }
      }
    }
  }
  // as AutoConfig does for configs without model_type: the longest model type in the folder name
  std::string folder = std::filesystem::path(file).parent_path().filename().string();
  for (auto& ch : folder) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* type : {"distilbert", "whisper", "bert", "t5"}) {
    if (folder.find(type) != std::string::npos) {
      if (how) *how = "from the folder name '" + folder + "'";
      return type;
    }
  }
  throw InputError(file, 0, 0, "no \"model_type\", and neither \"architectures\" nor the folder name tells the "
                               "family (add \"model_type\": one of " + supported_model_types() + ", t5, whisper)");
}

nlohmann::json read_model_config(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  if (!std::filesystem::is_directory(dir)) {
    throw InputError(dir, 0, 0, "not a model folder (expected a folder with config.json and model weights)");
  }
  if (!file_exists(path)) {
    throw InputError(path, 0, 0, "missing: a model folder needs config.json (written by nlpc train or transformers)");
  }
  nlohmann::json config = read_json_file(path);
  if (config.is_object() && !config.contains("model_type")) {
    std::string how;
    config["model_type"] = infer_model_type(config, path, &how);
    spdlog::info("{}: no \"model_type\"; {} inferred {}", path, config["model_type"].get<std::string>(), how);
  }
  return config;
}

}  // namespace nlpc::models
