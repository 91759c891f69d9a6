#include "nlpc/models/bert/config.h"

#include <filesystem>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/models/registry.h"

namespace nlpc::models {
namespace {

using json = nlohmann::json;

class Reader {
 public:
  Reader(const json& j, std::string file) : j_(j), file_(std::move(file)) {}

  void get(const char* key, int64_t& out) const {
    if (const json* v = find(key)) {
      if (!v->is_number_integer()) fail(key, "an integer", *v);
      out = v->get<int64_t>();
    }
  }
  void get(const char* key, double& out) const {
    if (const json* v = find(key)) {
      if (!v->is_number()) fail(key, "a number", *v);
      out = v->get<double>();
    }
  }
  void get(const char* key, bool& out) const {
    if (const json* v = find(key)) {
      if (!v->is_boolean()) fail(key, "true or false", *v);
      out = v->get<bool>();
    }
  }
  void get(const char* key, std::string& out) const {
    if (const json* v = find(key)) {
      if (!v->is_string()) fail(key, "a string", *v);
      out = v->get<std::string>();
    }
  }
  void get(const char* key, std::optional<double>& out) const {
    if (const json* v = find(key)) {
      if (!v->is_number()) fail(key, "a number or null", *v);
      out = v->get<double>();
    }
  }

 private:
  const json* find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  [[noreturn]] void fail(const char* key, const char* expected, const json& v) const {
    throw InputError(file_, 0, 0, std::string("\"") + key + "\" must be " + expected + ", got " + v.dump());
  }
  const json& j_;
  std::string file_;
};

void positive(int64_t v, const char* key, const std::string& file) {
  if (v <= 0) throw InputError(file, 0, 0, std::string("\"") + key + "\" must be positive, got " + std::to_string(v));
}

BertConfig parse_bert(const Reader& r, const std::string& file) {
  BertConfig c;
  r.get("vocab_size", c.vocab_size);
  r.get("hidden_size", c.hidden_size);
  r.get("num_hidden_layers", c.num_hidden_layers);
  r.get("num_attention_heads", c.num_attention_heads);
  r.get("intermediate_size", c.intermediate_size);
  r.get("hidden_act", c.hidden_act);
  r.get("hidden_dropout_prob", c.hidden_dropout_prob);
  r.get("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  r.get("max_position_embeddings", c.max_position_embeddings);
  r.get("type_vocab_size", c.type_vocab_size);
  r.get("initializer_range", c.initializer_range);
  r.get("layer_norm_eps", c.layer_norm_eps);
  r.get("pad_token_id", c.pad_token_id);
  r.get("position_embedding_type", c.position_embedding_type);
  r.get("classifier_dropout", c.classifier_dropout);
  for (auto [v, k] : {std::pair{c.vocab_size, "vocab_size"}, {c.hidden_size, "hidden_size"},
                      {c.num_hidden_layers, "num_hidden_layers"}, {c.num_attention_heads, "num_attention_heads"},
                      {c.intermediate_size, "intermediate_size"}, {c.max_position_embeddings, "max_position_embeddings"},
                      {c.type_vocab_size, "type_vocab_size"}}) {
    positive(v, k, file);
  }
  if (c.hidden_size % c.num_attention_heads != 0) {
    throw InputError(file, 0, 0, "hidden_size " + std::to_string(c.hidden_size) +
                                     " is not a multiple of num_attention_heads " +
                                     std::to_string(c.num_attention_heads));
  }
  if (c.position_embedding_type != "absolute") {
    throw InputError(file, 0, 0, "position_embedding_type '" + c.position_embedding_type +
                                     "' is not supported (nlpc implements \"absolute\")");
  }
  return c;
}

DistilBertConfig parse_distilbert(const Reader& r, const std::string& file) {
  DistilBertConfig c;
  r.get("vocab_size", c.vocab_size);
  r.get("max_position_embeddings", c.max_position_embeddings);
  r.get("sinusoidal_pos_embds", c.sinusoidal_pos_embds);
  r.get("n_layers", c.n_layers);
  r.get("n_heads", c.n_heads);
  r.get("dim", c.dim);
  r.get("hidden_dim", c.hidden_dim);
  r.get("dropout", c.dropout);
  r.get("attention_dropout", c.attention_dropout);
  r.get("activation", c.activation);
  r.get("initializer_range", c.initializer_range);
  r.get("qa_dropout", c.qa_dropout);
  r.get("seq_classif_dropout", c.seq_classif_dropout);
  r.get("pad_token_id", c.pad_token_id);
  for (auto [v, k] : {std::pair{c.vocab_size, "vocab_size"}, {c.dim, "dim"}, {c.n_layers, "n_layers"},
                      {c.n_heads, "n_heads"}, {c.hidden_dim, "hidden_dim"},
                      {c.max_position_embeddings, "max_position_embeddings"}}) {
    positive(v, k, file);
  }
  if (c.dim % c.n_heads != 0) {
    throw InputError(file, 0, 0, "dim " + std::to_string(c.dim) + " is not a multiple of n_heads " +
                                     std::to_string(c.n_heads));
  }
  return c;
}

std::vector<std::string> parse_labels(const json& j, const std::string& file) {
  std::vector<std::string> labels;
  auto it = j.find("id2label");
  if (it == j.end() || it->is_null()) return labels;
  if (!it->is_object()) throw InputError(file, 0, 0, "\"id2label\" must be an object {\"0\": label, ...}");
  labels.resize(it->size());
  std::vector<bool> seen(it->size(), false);
  for (auto e = it->begin(); e != it->end(); ++e) {
    size_t pos = 0;
    long id = -1;
    try {
      id = std::stol(e.key(), &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != e.key().size() || id < 0 || id >= static_cast<long>(labels.size()) || seen[id]) {
      throw InputError(file, 0, 0, "\"id2label\" keys must be the ids 0.." + std::to_string(labels.size() - 1) +
                                       " each once, got \"" + e.key() + "\"");
    }
    if (!e->is_string()) throw InputError(file, 0, 0, "\"id2label\"[\"" + e.key() + "\"] must be a string");
    labels[id] = e->get<std::string>();
    seen[id] = true;
  }
  return labels;
}

}  // namespace

int64_t ModelConfig::hidden_size() const {
  return model_type == "distilbert" ? distilbert.dim : bert.hidden_size;
}
int64_t ModelConfig::num_layers() const {
  return model_type == "distilbert" ? distilbert.n_layers : bert.num_hidden_layers;
}
double ModelConfig::initializer_range() const {
  return model_type == "distilbert" ? distilbert.initializer_range : bert.initializer_range;
}

ModelConfig parse_model_config(const json& j, const std::string& file) {
  if (!j.is_object()) throw InputError(file, 0, 0, "config.json must be a JSON object");
  ModelConfig c;
  c.raw = j;
  Reader r(j, file);
  r.get("model_type", c.model_type);
  if (c.model_type.empty()) c.model_type = infer_model_type(j, file);
  find_architecture(c.model_type, file);  // throws for unknown types, listing the supported ones
  if (c.model_type == "bert") c.bert = parse_bert(r, file);
  if (c.model_type == "distilbert") c.distilbert = parse_distilbert(r, file);
  if (auto it = j.find("architectures"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) throw InputError(file, 0, 0, "\"architectures\" must be a list of strings");
    for (const auto& a : *it) {
      if (!a.is_string()) throw InputError(file, 0, 0, "\"architectures\" must be a list of strings");
      c.architectures.push_back(a.get<std::string>());
    }
  }
  c.id2label = parse_labels(j, file);
  r.get("problem_type", c.problem_type);
  if (!c.problem_type.empty() && c.problem_type != "single_label_classification" &&
      c.problem_type != "multi_label_classification" && c.problem_type != "regression") {
    throw InputError(file, 0, 0, "\"problem_type\" must be single_label_classification, "
                                 "multi_label_classification or regression, got '" + c.problem_type + "'");
  }
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string file = fs::is_directory(path) ? (fs::path(path) / "config.json").string() : path;
  if (!fs::exists(file)) throw InputError(file, 0, 0, "no config.json: expected a Hugging Face model folder");
  json j;
  try {
    j = json::parse(read_file(file));
  } catch (const json::parse_error& e) {
    throw InputError(file, 0, 0, std::string("invalid JSON: ") + e.what());
  }
  return parse_model_config(j, file);
}

json model_config_to_json(const ModelConfig& c) {
  json j = c.raw.is_object() ? c.raw : json::object();
  j["model_type"] = c.model_type;
  if (c.model_type == "bert") {
    const BertConfig& b = c.bert;
    j["vocab_size"] = b.vocab_size;
    j["hidden_size"] = b.hidden_size;
    j["num_hidden_layers"] = b.num_hidden_layers;
    j["num_attention_heads"] = b.num_attention_heads;
    j["intermediate_size"] = b.intermediate_size;
    j["hidden_act"] = b.hidden_act;
    j["hidden_dropout_prob"] = b.hidden_dropout_prob;
    j["attention_probs_dropout_prob"] = b.attention_probs_dropout_prob;
    j["max_position_embeddings"] = b.max_position_embeddings;
    j["type_vocab_size"] = b.type_vocab_size;
    j["initializer_range"] = b.initializer_range;
    j["layer_norm_eps"] = b.layer_norm_eps;
    j["pad_token_id"] = b.pad_token_id;
    j["position_embedding_type"] = b.position_embedding_type;
    j["classifier_dropout"] = b.classifier_dropout ? json(*b.classifier_dropout) : json(nullptr);
  } else {
    const DistilBertConfig& d = c.distilbert;
    j["vocab_size"] = d.vocab_size;
    j["max_position_embeddings"] = d.max_position_embeddings;
    j["sinusoidal_pos_embds"] = d.sinusoidal_pos_embds;
    j["n_layers"] = d.n_layers;
    j["n_heads"] = d.n_heads;
    j["dim"] = d.dim;
    j["hidden_dim"] = d.hidden_dim;
    j["dropout"] = d.dropout;
    j["attention_dropout"] = d.attention_dropout;
    j["activation"] = d.activation;
    j["initializer_range"] = d.initializer_range;
    j["qa_dropout"] = d.qa_dropout;
    j["seq_classif_dropout"] = d.seq_classif_dropout;
    j["pad_token_id"] = d.pad_token_id;
  }
  if (!c.architectures.empty()) j["architectures"] = c.architectures;
  if (!c.id2label.empty()) {
    json id2label = json::object(), label2id = json::object();
    for (size_t i = 0; i < c.id2label.size(); ++i) {
      id2label[std::to_string(i)] = c.id2label[i];
      label2id[c.id2label[i]] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  if (!c.problem_type.empty()) j["problem_type"] = c.problem_type;
  return j;
}

}  // namespace nlpc::models
