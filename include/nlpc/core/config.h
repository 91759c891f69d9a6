#pragma once
// Schema-checked JSON configurations with dotted keys.
//
// A schema lists every accepted key ("train.lr"), its type, default and help. resolve() takes a
// config file's JSON (nested objects) and `--set key=value` overrides and returns the resolved,
// nested configuration with every default filled in. Unknown keys are errors that name the key and
// suggest the closest valid one; values of the wrong type are errors that say what was expected.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nlpc {

enum class ConfigType { kString, kInt, kFloat, kBool, kStringList, kIntList };

struct ConfigKey {
  std::string key;  // dotted, e.g. "train.lr"
  ConfigType type = ConfigType::kString;
  nlohmann::json default_value;       // null = no default (absent unless given)
  std::string help;
  std::vector<std::string> choices;   // allowed values for strings (empty = any)
};

class ConfigSchema {
 public:
  ConfigSchema& add(ConfigKey key);
  const ConfigKey* find(const std::string& key) const;
  const std::vector<ConfigKey>& keys() const { return keys_; }
  // The closest valid key by edit distance (also matching the last component), or "" if none close.
  std::string suggest(const std::string& key) const;

  // file_json: the parsed config file (may be empty object); source: its path, for messages.
  // sets: "dotted.key=value" strings; values are parsed by the key's type (lists: JSON or a,b,c).
  nlohmann::json resolve(const nlohmann::json& file_json, const std::vector<std::string>& sets,
                         const std::string& source) const;
  // Markdown table of keys, types, defaults and help (for docs and --help).
  std::string describe() const;

 private:
  nlohmann::json check_value(const ConfigKey& k, const nlohmann::json& v, const std::string& where) const;
  nlohmann::json parse_set_value(const ConfigKey& k, const std::string& text, const std::string& where) const;
  std::vector<ConfigKey> keys_;
};

// {"a": {"b": 1, "c": [1, 2]}, "d": "x"} -> {"a.b": 1, "a.c": [1, 2], "d": "x"}. Arrays and scalars
// are kept as values; empty objects vanish; a scalar given alone becomes {"value": scalar}.
nlohmann::json flatten_json(const nlohmann::json& j);
// Reads a JSON file (InputError with line/column on a syntax error).
nlohmann::json read_json_file(const std::string& path);
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace nlpc
