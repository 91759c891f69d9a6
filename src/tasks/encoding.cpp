#include "nlpc/tasks/encoding.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "nlpc/core/config.h"
#include "nlpc/core/fs.h"

namespace nlpc {

train::Example encode_example(const text::Tokenizer& tok, const std::string& text, const std::string* pair,
                              int64_t max_length) {
  text::EncodeOptions o;
  o.max_length = max_length;
  o.truncation = text::Truncation::kLongestFirst;
  text::Encoding e = pair != nullptr ? tok.encode_pair(text, *pair, o) : tok.encode(text, o);
  train::Example ex;
  ex.ids.assign(e.ids.begin(), e.ids.end());
  if (pair != nullptr) ex.type_ids.assign(e.type_ids.begin(), e.type_ids.end());
  return ex;
}

int64_t pad_id_of(const text::Tokenizer& tok) {
  int32_t p = tok.special_id("pad");
  return p >= 0 ? p : 0;
}

void set_model_max_length(const std::string& dir, int64_t max_length) {
  const std::string path = (std::filesystem::path(dir) / "tokenizer_config.json").string();
  nlohmann::json j = file_exists(path) ? read_json_file(path) : nlohmann::json::object();
  j["model_max_length"] = max_length;
  write_file_atomic(path, j.dump(2) + "\n");
}

int64_t model_max_length(const std::string& dir, int64_t fallback) {
  const std::string path = (std::filesystem::path(dir) / "tokenizer_config.json").string();
  if (!file_exists(path)) return fallback;
  nlohmann::json j = read_json_file(path);
  if (j.contains("model_max_length") && j["model_max_length"].is_number_integer()) {
    const int64_t v = j["model_max_length"].get<int64_t>();
    // HF writes a huge sentinel (1e30) when a tokenizer has no limit.
    if (v > 0 && v < (int64_t{1} << 20)) return std::min(v, fallback);
  }
  return fallback;
}

}  // namespace nlpc
