// The input columns recorded in a model folder's config.json ("nlpc_columns"); see
// include/nlpc/data/model_columns.h.
#include "nlpc/data/model_columns.h"

#include <nlohmann/json.hpp>

#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"

namespace nlpc {
namespace {
constexpr const char* kKey = "nlpc_columns";

std::string* spec_field(DataSpec& spec, const std::string& field) {
  if (field == "text_column") return &spec.text_column;
  if (field == "pair_column") return &spec.pair_column;
  if (field == "label_column") return &spec.label_column;
  if (field == "target_column") return &spec.target_column;
  if (field == "audio_column") return &spec.audio_column;
  return nullptr;
}
}  // namespace

ModelColumns columns_of_spec(const DataSpec& spec, const std::string& task) {
  if (task == "summarize") return {{"text_column", spec.text_column}, {"target_column", spec.target_column}};
  if (task == "asr") return {{"audio_column", spec.audio_column}, {"text_column", spec.text_column}};
  return {{"text_column", spec.text_column}, {"pair_column", spec.pair_column}, {"label_column", spec.label_column}};
}

void record_model_columns(const std::string& model_dir, const ModelColumns& columns) {
  const std::string path = model_dir + "/config.json";
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(read_file(path), nullptr, false);
  if (!j.is_object()) throw RuntimeError(path + ": not a JSON object; cannot record the model's columns");
  nlohmann::ordered_json c = nlohmann::ordered_json::object();
  for (const auto& [k, v] : columns) c[k] = v;
  j[kKey] = c;
  write_file_atomic(path, j.dump(2) + "\n");
}

std::optional<ModelColumns> read_model_columns(const std::string& model_dir) {
  const std::string path = model_dir + "/config.json";
  if (!file_exists(path)) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (!j.is_object() || !j.contains(kKey)) return std::nullopt;
  const nlohmann::json& c = j[kKey];
  if (!c.is_object()) throw InputError(path, 0, 0, std::string("\"") + kKey + "\" must be an object of column names");
  ModelColumns out;
  for (auto it = c.begin(); it != c.end(); ++it) {
    if (!it.value().is_string()) {
      throw InputError(path, 0, 0, std::string("\"") + kKey + "." + it.key() + "\" must be a string");
    }
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

std::string apply_model_columns(const std::string& model_dir, DataSpec& spec, const std::set<std::string>& given) {
  const auto cols = read_model_columns(model_dir);
  if (!cols) return "";
  std::string taken;
  for (const auto& [field, value] : *cols) {
    std::string* f = spec_field(spec, field);
    if (f == nullptr || given.count(field) > 0) continue;
    *f = value;
    if (!value.empty()) taken += (taken.empty() ? "" : " ") + field + "=" + value;
  }
  return taken;
}

InputError with_model_column_hint(const InputError& e, const std::string& model_dir, const std::string& taken) {
  if (taken.empty() || e.detail().rfind("no column named", 0) != 0) return e;
  return InputError(e.file(), e.line(), e.column(),
                    e.detail() + " (the model " + model_dir + " was trained on " + taken +
                        ", recorded in its config.json; name other columns with the --*-column flags)");
}

std::string model_column(const std::optional<ModelColumns>& cols, const std::string& field,
                         const std::string& fallback) {
  if (!cols) return fallback;
  auto it = cols->find(field);
  return it == cols->end() ? fallback : it->second;
}

}  // namespace nlpc
