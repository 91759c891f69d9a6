#pragma once
// config.json -> typed model configs, with Hugging Face's defaults for absent keys. The parsed
// JSON is kept (`raw`) so that a folder nlpc saves keeps every key it did not interpret.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nlpc::models {

// transformers.BertConfig (also TinyBERT, BERT-mini/small: model_type "bert").
struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";  // only "absolute" is supported
  std::optional<double> classifier_dropout;          // null: hidden_dropout_prob
};

// transformers.DistilBertConfig.
struct DistilBertConfig {
  int64_t vocab_size = 30522;
  int64_t max_position_embeddings = 512;
  bool sinusoidal_pos_embds = false;
  int64_t n_layers = 6;
  int64_t n_heads = 12;
  int64_t dim = 768;
  int64_t hidden_dim = 3072;
  double dropout = 0.1;
  double attention_dropout = 0.1;
  std::string activation = "gelu";
  double initializer_range = 0.02;
  double qa_dropout = 0.1;
  double seq_classif_dropout = 0.2;
  int64_t pad_token_id = 0;
};

// Everything nlpc reads from config.json.
struct ModelConfig {
  std::string model_type;  // "bert" | "distilbert"
  BertConfig bert;         // valid when model_type == "bert"
  DistilBertConfig distilbert;  // valid when model_type == "distilbert"
  std::vector<std::string> architectures;
  std::vector<std::string> id2label;  // index -> label; empty when the config has none
  std::string problem_type;           // "" | single_label_classification | multi_label_classification | regression
  nlohmann::json raw = nlohmann::json::object();

  int64_t hidden_size() const;
  int64_t num_layers() const;
  double initializer_range() const;
};

// Parses config.json content; `file` names it in errors. Unknown model_type -> InputError listing
// the supported ones; wrong value types -> InputError naming the key.
ModelConfig parse_model_config(const nlohmann::json& j, const std::string& file);
// Reads <dir>/config.json (or `path` itself when it is a file).
ModelConfig load_model_config(const std::string& path);
// The config.json content for `c`: `raw` updated with every typed field, architectures, id2label,
// label2id and problem_type.
nlohmann::json model_config_to_json(const ModelConfig& c);

}  // namespace nlpc::models
