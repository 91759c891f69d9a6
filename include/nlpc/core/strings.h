#pragma once
// Small string helpers shared by every area.
#include <string>

namespace nlpc {

// `s` without leading and trailing characters of `spaces` (default: spaces, tabs, CR, LF).
std::string trim(const std::string& s, const char* spaces = " \t\r\n");
// True when `s` holds only spaces, tabs and line breaks.
bool is_blank(const std::string& s);
inline bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace nlpc
