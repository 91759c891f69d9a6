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

// Levenshtein distance (bytes), for "did you mean" hints.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
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
  // Suggest the closest name: equal up to case and outer spaces, else at most 2 edits away.
  const std::string want = normalized(name);
  const std::string* best = nullptr;
  size_t best_distance = want.size() >= 4 ? 3 : want.size() >= 2 ? 2 : 1;
  for (const auto& c : columns) {
    if (c.empty()) continue;
    const size_t d = edit_distance(normalized(c), want);
    if (d < best_distance) {
      best = &c;
      best_distance = d;
    }
  }
  if (best != nullptr) msg += " (did you mean \"" + *best + "\"?)";
  return msg;
}

std::string describe_delimiter(char delimiter) {
  if (delimiter == '\t') return "a tab";
  return std::string("'") + delimiter + "'";
}

}  // namespace nlpc::io
