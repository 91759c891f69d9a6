#pragma once
// The explicit list of encoder architectures nlpc supports (no self-registering statics).
#include <memory>
#include <string>
#include <vector>

namespace nlpc::models {

class Encoder;
struct ModelConfig;

struct Architecture {
  std::string model_type;        // config.json "model_type"
  std::string prefix;            // HF base_model_prefix: checkpoint keys start with "<prefix>."
  std::string classifier_class;  // HF class written to "architectures" for the classifier
  std::string base_class;        // HF class of the bare encoder ("BertModel")
};

const std::vector<Architecture>& supported_architectures();
std::string supported_model_types();  // "bert, distilbert"
// Throws InputError naming `file` and listing the supported types when `model_type` is unknown.
const Architecture& find_architecture(const std::string& model_type, const std::string& file);
// A randomly constructed (not yet initialised) encoder for `config`.
std::shared_ptr<Encoder> create_encoder(const ModelConfig& config, const std::string& file = "config.json");

}  // namespace nlpc::models
