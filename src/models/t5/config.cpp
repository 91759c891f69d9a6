// T5Config <-> config.json, with transformers' defaults and its feed_forward_proj parsing.
#include <filesystem>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/models/t5/t5.h"

namespace nlpc::models {
namespace {

std::vector<std::string> split_dash(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find('-', start);
    parts.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return parts;
    start = pos + 1;
  }
}

template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out, const std::string& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    if constexpr (std::is_same_v<T, int64_t>) {
      if (!it->is_number_integer()) throw std::runtime_error("not an integer");
    } else if constexpr (std::is_same_v<T, double>) {
      if (!it->is_number()) throw std::runtime_error("not a number");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) throw std::runtime_error("not a boolean");
    } else {
      if (!it->is_string()) throw std::runtime_error("not a string");
    }
    out = it->get<T>();
  } catch (const std::exception&) {
    throw InputError(file, 0, 0,
                     std::string("config key '") + key + "' has the wrong type (" + it->dump() +
                         "); see transformers.T5Config for the expected value");
  }
}

}  // namespace

bool T5Config::is_gated_act() const { return split_dash(feed_forward_proj).front() == "gated"; }

std::string T5Config::dense_act_fn() const {
  if (feed_forward_proj == "gated-gelu") return "gelu_new";  // backwards compatibility in HF
  return split_dash(feed_forward_proj).back();
}

T5Config parse_t5_config(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw InputError(file, 0, 0, "config.json must be a JSON object");
  T5Config c;
  c.raw = j;
  read_key(j, "vocab_size", c.vocab_size, file);
  read_key(j, "d_model", c.d_model, file);
  read_key(j, "d_kv", c.d_kv, file);
  read_key(j, "d_ff", c.d_ff, file);
  read_key(j, "num_layers", c.num_layers, file);
  c.num_decoder_layers = c.num_layers;
  read_key(j, "num_decoder_layers", c.num_decoder_layers, file);
  read_key(j, "num_heads", c.num_heads, file);
  read_key(j, "relative_attention_num_buckets", c.relative_attention_num_buckets, file);
  read_key(j, "relative_attention_max_distance", c.relative_attention_max_distance, file);
  read_key(j, "dropout_rate", c.dropout_rate, file);
  read_key(j, "layer_norm_epsilon", c.layer_norm_epsilon, file);
  read_key(j, "initializer_factor", c.initializer_factor, file);
  read_key(j, "feed_forward_proj", c.feed_forward_proj, file);
  read_key(j, "tie_word_embeddings", c.tie_word_embeddings, file);
  read_key(j, "pad_token_id", c.pad_token_id, file);
  read_key(j, "eos_token_id", c.eos_token_id, file);
  int64_t start = -1;
  read_key(j, "decoder_start_token_id", start, file);
  if (start >= 0) c.decoder_start_token_id = start;
  if (j.contains("model_type") && j["model_type"] != "t5" && j["model_type"] != "mt5")
    throw InputError(file, 0, 0, "model_type is " + j["model_type"].dump() + ", expected \"t5\" or \"mt5\"");

  auto parts = split_dash(c.feed_forward_proj);
  if ((parts.size() > 1 && parts[0] != "gated") || parts.size() > 2)
    throw InputError(file, 0, 0,
                     "feed_forward_proj '" + c.feed_forward_proj +
                         "' is not valid: expected an activation name optionally prefixed by 'gated-' "
                         "(relu, gelu, gated-gelu, gated-silu)");
  const std::string act = c.dense_act_fn();
  static const std::vector<std::string> known = {"relu", "gelu", "gelu_new", "gelu_pytorch_tanh",
                                                 "gelu_fast", "silu", "swish"};
  if (std::find(known.begin(), known.end(), act) == known.end())
    throw InputError(file, 0, 0, "feed_forward_proj activation '" + act +
                                     "' is not supported (relu, gelu, gelu_new, gelu_pytorch_tanh, silu)");
  for (auto [name, v] : {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size},
                         {"d_model", c.d_model}, {"d_kv", c.d_kv}, {"d_ff", c.d_ff},
                         {"num_layers", c.num_layers}, {"num_heads", c.num_heads},
                         {"relative_attention_num_buckets", c.relative_attention_num_buckets},
                         {"relative_attention_max_distance", c.relative_attention_max_distance}}) {
    if (v <= 0) throw InputError(file, 0, 0, std::string(name) + " must be positive, got " + std::to_string(v));
  }
  return c;
}

T5Config load_t5_config(const std::string& path) {
  namespace fs = std::filesystem;
  std::string file = fs::is_directory(path) ? (fs::path(path) / "config.json").string() : path;
  std::string text = read_file(file);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(file, 0, 0, std::string("invalid JSON: ") + e.what());
  }
  return parse_t5_config(j, file);
}

nlohmann::json t5_config_to_json(const T5Config& c) {
  nlohmann::json j = c.raw.is_object() ? c.raw : nlohmann::json::object();
  j["model_type"] = j.value("model_type", std::string("t5"));
  if (!j.contains("architectures")) j["architectures"] = {"T5ForConditionalGeneration"};
  j["vocab_size"] = c.vocab_size;
  j["d_model"] = c.d_model;
  j["d_kv"] = c.d_kv;
  j["d_ff"] = c.d_ff;
  j["num_layers"] = c.num_layers;
  j["num_decoder_layers"] = c.num_decoder_layers;
  j["num_heads"] = c.num_heads;
  j["relative_attention_num_buckets"] = c.relative_attention_num_buckets;
  j["relative_attention_max_distance"] = c.relative_attention_max_distance;
  j["dropout_rate"] = c.dropout_rate;
  j["layer_norm_epsilon"] = c.layer_norm_epsilon;
  j["initializer_factor"] = c.initializer_factor;
  j["feed_forward_proj"] = c.feed_forward_proj;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["pad_token_id"] = c.pad_token_id;
  j["eos_token_id"] = c.eos_token_id;
  if (c.decoder_start_token_id) j["decoder_start_token_id"] = *c.decoder_start_token_id;
  j["is_encoder_decoder"] = true;
  return j;
}

}  // namespace nlpc::models
