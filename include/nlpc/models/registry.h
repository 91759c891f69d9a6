#pragma once
// The explicit list of model families nlpc reads and writes (no self-registering statics): one row
// per config.json "model_type" with the task whose pipeline opens such a folder, the Hugging Face
// base_model_prefix and classes, and, for the BERT-family encoders, the encoder factory.
// src/tasks/registry.cpp maps a row's task to the facade that loads the folder (open_pipeline).
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nlpc::models {

class Encoder;
struct ModelConfig;

using EncoderFactory = std::shared_ptr<Encoder> (*)(const ModelConfig& config, const std::string& file);

struct Architecture {
  std::string model_type;        // config.json "model_type"
  std::string task;              // tasks::Task::name of its pipeline: classification, summarize, asr
  std::string prefix;            // HF base_model_prefix: checkpoint keys of the base model start with "<prefix>."
  std::string classifier_class;  // HF class written to "architectures" (the task model)
  std::string base_class;        // HF class of the bare base model ("BertModel")
  EncoderFactory create_encoder = nullptr;  // BERT-family encoders (sequence classification); null otherwise
};

// Every model family, in a fixed order.
const std::vector<Architecture>& supported_architectures();
// The family of `model_type`; InputError naming `file` and listing every model_type otherwise.
const Architecture& find_model_family(const std::string& model_type, const std::string& file);

// The encoder families (rows with create_encoder): what BERT-family configs may name.
std::string supported_model_types();  // "bert, distilbert"
// Throws InputError naming `file` and listing the encoder types when `model_type` is not one.
const Architecture& find_architecture(const std::string& model_type, const std::string& file);
// A randomly constructed (not yet initialised) encoder for `config`.
std::shared_ptr<Encoder> create_encoder(const ModelConfig& config, const std::string& file = "config.json");

// config.json's "model_type"; when absent (old and TinyBERT uploads) inferred as transformers does:
// from "architectures" (BertForMaskedLM -> bert, DistilBert* -> distilbert, T5WithLMHeadModel -> t5,
// Whisper* -> whisper), else from the name of the folder holding `file` (AutoConfig's pattern match,
// case-insensitive). `how` (optional) says which. InputError naming `file` when nothing tells.
std::string infer_model_type(const nlohmann::json& config, const std::string& file, std::string* how = nullptr);

// Reads config.json of a model folder (InputError when the folder or the file is missing or
// invalid); a missing "model_type" is filled in by infer_model_type (logged).
nlohmann::json read_model_config(const std::string& dir);

}  // namespace nlpc::models
