#include "nlpc/models/registry.h"

#include "nlpc/core/error.h"
#include "nlpc/models/bert.h"
#include "nlpc/models/distilbert.h"

namespace nlpc::models {

const std::vector<Architecture>& supported_architectures() {
  static const std::vector<Architecture> list = {
      {"bert", "bert", "BertForSequenceClassification", "BertModel"},
      {"distilbert", "distilbert", "DistilBertForSequenceClassification", "DistilBertModel"},
  };
  return list;
}

std::string supported_model_types() {
  std::string s;
  for (const auto& a : supported_architectures()) s += (s.empty() ? "" : ", ") + a.model_type;
  return s;
}

const Architecture& find_architecture(const std::string& model_type, const std::string& file) {
  for (const auto& a : supported_architectures()) {
    if (a.model_type == model_type) return a;
  }
  throw InputError(file, 0, 0, "unsupported model_type '" + model_type + "' (supported: " + supported_model_types() + ")");
}

std::shared_ptr<Encoder> create_encoder(const ModelConfig& config, const std::string& file) {
  find_architecture(config.model_type, file);
  if (config.model_type == "bert") return std::make_shared<BertModel>(config.bert, file);
  return std::make_shared<DistilBertModel>(config.distilbert, file);
}

}  // namespace nlpc::models
