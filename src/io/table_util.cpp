#include "table_util.h"

#include <algorithm>
#include <cctype>

namespace nlpc::io {
namespace {

std::string normalized(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string out = s.substr(b, e - b);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string missing_column_message(const std::string& name, const std::vector<std::string>& columns) {
  constexpr size_t kMaxListed = 30;
  std::string msg = "no column named \"" + name + "\"; the columns are ";
  if (columns.empty()) msg = "no column named \"" + name + "\"; there are no columns";
  for (size_t i = 0; i < columns.size() && i < kMaxListed; ++i) {
    if (i > 0) msg += ", ";
    msg += "\"" + columns[i] + "\"";
  }
  if (columns.size() > kMaxListed) msg += " and " + std::to_string(columns.size() - kMaxListed) + " more";
  const std::string want = normalized(name);
  for (const auto& c : columns) {
    if (!c.empty() && normalized(c) == want) {
      msg += " (did you mean \"" + c + "\"?)";
      break;
    }
  }
  return msg;
}

std::string describe_delimiter(char delimiter) {
  if (delimiter == '\t') return "a tab";
  return std::string("'") + delimiter + "'";
}

}  // namespace nlpc::io
