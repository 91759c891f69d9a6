#include "nlpc/core/config.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"

namespace nlpc {
namespace {

const char* type_name(ConfigType t) {
  switch (t) {
    case ConfigType::kString: return "a string";
    case ConfigType::kInt: return "an integer";
    case ConfigType::kFloat: return "a number";
    case ConfigType::kBool: return "true or false";
    case ConfigType::kStringList: return "a list of strings";
    case ConfigType::kIntList: return "a list of integers";
  }
  return "?";
}

void set_dotted(nlohmann::json& root, const std::string& key, const nlohmann::json& value) {
  nlohmann::json* node = &root;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    node = &(*node)[part];
    start = dot + 1;
  }
}

void flatten_into(const nlohmann::json& j, const std::string& prefix, nlohmann::json& out) {
  if (j.is_object()) {  // an empty object adds nothing
    for (auto it = j.begin(); it != j.end(); ++it) {
      flatten_into(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    }
  } else {
    out[prefix.empty() ? std::string("value") : prefix] = j;
  }
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream is(s);
  while (std::getline(is, cur, ',')) {
    size_t a = cur.find_first_not_of(" \t"), b = cur.find_last_not_of(" \t");
    out.push_back(a == std::string::npos ? "" : cur.substr(a, b - a + 1));
  }
  return out;
}

}  // namespace

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

nlohmann::json flatten_json(const nlohmann::json& j) {
  nlohmann::json out = nlohmann::json::object();
  flatten_into(j, "", out);
  return out;
}

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the 1-based byte position of the error: convert it to a line and column.
    size_t pos = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
    int64_t line = 1, col = 1;
    for (size_t i = 0; i < pos; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++col;
      }
    }
    std::string what = e.what();
    auto p = what.find("parse error");
    throw InputError(path, line, col, "invalid JSON: " + (p == std::string::npos ? what : what.substr(p)));
  }
}

ConfigSchema& ConfigSchema::add(ConfigKey key) {
  keys_.push_back(std::move(key));
  return *this;
}

const ConfigKey* ConfigSchema::find(const std::string& key) const {
  for (const auto& k : keys_) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

std::string ConfigSchema::suggest(const std::string& key) const {
  std::string best;
  size_t best_d = std::string::npos;
  auto last = [](const std::string& s) {
    auto p = s.rfind('.');
    return p == std::string::npos ? s : s.substr(p + 1);
  };
  for (const auto& k : keys_) {
    size_t d = std::min(edit_distance(key, k.key), edit_distance(last(key), last(k.key)) + 1);
    if (d < best_d) {
      best_d = d;
      best = k.key;
    }
  }
  const size_t limit = std::max<size_t>(2, key.size() / 3);
  return best_d <= limit ? best : "";
}

nlohmann::json ConfigSchema::check_value(const ConfigKey& k, const nlohmann::json& v,
                                         const std::string& where) const {
  auto bad = [&]() {
    return UsageError(where + ": '" + k.key + "' must be " + type_name(k.type) + ", got " + v.dump());
  };
  switch (k.type) {
    case ConfigType::kString:
      if (!v.is_string()) throw bad();
      if (!k.choices.empty() &&
          std::find(k.choices.begin(), k.choices.end(), v.get<std::string>()) == k.choices.end()) {
        std::string c;
        for (const auto& s : k.choices) c += (c.empty() ? "" : ", ") + s;
        throw UsageError(where + ": '" + k.key + "' must be one of " + c + ", got " + v.dump());
      }
      return v;
    case ConfigType::kInt:
      if (v.is_number_integer()) return v;
      if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())
        return static_cast<int64_t>(v.get<double>());
      throw bad();
    case ConfigType::kFloat:
      if (!v.is_number()) throw bad();
      return v.get<double>();
    case ConfigType::kBool:
      if (!v.is_boolean()) throw bad();
      return v;
    case ConfigType::kStringList:
      if (!v.is_array()) throw bad();
      for (const auto& e : v)
        if (!e.is_string()) throw bad();
      return v;
    case ConfigType::kIntList:
      if (!v.is_array()) throw bad();
      for (const auto& e : v)
        if (!e.is_number_integer()) throw bad();
      return v;
  }
  return v;
}

nlohmann::json ConfigSchema::parse_set_value(const ConfigKey& k, const std::string& text,
                                             const std::string& where) const {
  auto bad = [&]() {
    return UsageError(where + ": '" + k.key + "' must be " + type_name(k.type) + ", got '" + text + "'");
  };
  switch (k.type) {
    case ConfigType::kString:
      return check_value(k, text, where);
    case ConfigType::kInt: {
      try {
        size_t n = 0;
        long long v = std::stoll(text, &n);
        if (n != text.size()) throw bad();
        return v;
      } catch (const std::logic_error&) {
        throw bad();
      }
    }
    case ConfigType::kFloat: {
      try {
        size_t n = 0;
        double v = std::stod(text, &n);
        if (n != text.size()) throw bad();
        return v;
      } catch (const std::logic_error&) {
        throw bad();
      }
    }
    case ConfigType::kBool:
      if (text == "true" || text == "1" || text == "yes") return true;
      if (text == "false" || text == "0" || text == "no") return false;
      throw bad();
    case ConfigType::kStringList:
    case ConfigType::kIntList: {
      if (!text.empty() && text[0] == '[') {
        try {
          return check_value(k, nlohmann::json::parse(text), where);
        } catch (const nlohmann::json::exception&) {
          throw bad();
        }
      }
      nlohmann::json arr = nlohmann::json::array();
      if (text.empty()) return arr;
      for (const auto& part : split_list(text)) {
        if (k.type == ConfigType::kStringList) {
          arr.push_back(part);
        } else {
          try {
            size_t n = 0;
            long long v = std::stoll(part, &n);
            if (n != part.size()) throw bad();
            arr.push_back(v);
          } catch (const std::logic_error&) {
            throw bad();
          }
        }
      }
      return arr;
    }
  }
  return text;
}

nlohmann::json ConfigSchema::resolve(const nlohmann::json& file_json, const std::vector<std::string>& sets,
                                     const std::string& source) const {
  if (!file_json.is_null() && !file_json.is_object()) {
    throw InputError(source, 0, 0, "a configuration must be a JSON object");
  }
  nlohmann::json flat = nlohmann::json::object();
  for (const auto& k : keys_) {
    if (!k.default_value.is_null()) flat[k.key] = k.default_value;
  }
  auto unknown = [&](const std::string& key, const std::string& where) {
    std::string s = suggest(key);
    return UsageError(where + ": unknown configuration key '" + key + "'" +
                      (s.empty() ? std::string(" (see the keys listed in docs/configuration.md)")
                                 : " (did you mean '" + s + "'?)"));
  };
  if (file_json.is_object()) {
    const nlohmann::json file_flat = flatten_json(file_json);  // must outlive items()
    for (auto& [key, value] : file_flat.items()) {
      const ConfigKey* k = find(key);
      if (k == nullptr) throw unknown(key, source);
      if (value.is_null()) {
        flat.erase(key);
        continue;
      }
      flat[key] = check_value(*k, value, source);
    }
  }
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("--set '" + s + "': expected key=value, e.g. --set train.lr=3e-5");
    }
    const std::string key = s.substr(0, eq);
    const ConfigKey* k = find(key);
    if (k == nullptr) throw unknown(key, "--set");
    flat[key] = parse_set_value(*k, s.substr(eq + 1), "--set");
  }
  nlohmann::json nested = nlohmann::json::object();
  for (const auto& k : keys_) {  // schema order, so the resolved file reads like the docs
    if (flat.contains(k.key)) set_dotted(nested, k.key, flat[k.key]);
  }
  return nested;
}

std::string ConfigSchema::describe() const {
  std::ostringstream os;
  os << "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : keys_) {
    std::string t = type_name(k.type);
    if (!k.choices.empty()) {
      t.clear();
      for (const auto& c : k.choices) t += (t.empty() ? "" : " \\| ") + c;
    }
    os << "| `" << k.key << "` | " << t << " | "
       << (k.default_value.is_null() ? std::string("") : "`" + k.default_value.dump() + "`") << " | " << k.help
       << " |\n";
  }
  return os.str();
}

}  // namespace nlpc
