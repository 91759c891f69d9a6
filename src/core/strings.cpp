#include "nlpc/core/strings.h"

namespace nlpc {

std::string trim(const std::string& s, const char* spaces) {
  const size_t b = s.find_first_not_of(spaces);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(spaces) - b + 1);
}

bool is_blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

}  // namespace nlpc
