#pragma once
// A small XML well-formedness checker for tests (elements balanced, attributes quoted, entities
// known, one root). Returns "" when well-formed, else a description of the first problem.
#include <string>
#include <vector>

namespace nlpc::test {

inline std::string check_xml(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0, roots = 0;
  auto name_char = [](char c) { return isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.'; };
  while (i < s.size()) {
    if (s[i] == '&') {
      size_t semi = s.find(';', i);
      if (semi == std::string::npos) return "unterminated entity at " + std::to_string(i);
      std::string e = s.substr(i + 1, semi - i - 1);
      if (e != "amp" && e != "lt" && e != "gt" && e != "quot" && e != "apos" && e.rfind("#", 0) != 0)
        return "unknown entity &" + e + ";";
      i = semi + 1;
      continue;
    }
    if (s[i] != '<') {
      if (stack.empty() && !isspace(static_cast<unsigned char>(s[i]))) return "text outside the root element";
      ++i;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      size_t e = s.find("-->", i);
      if (e == std::string::npos) return "unterminated comment";
      i = e + 3;
      continue;
    }
    if (s.compare(i, 2, "</") == 0) {
      size_t e = s.find('>', i);
      std::string n = s.substr(i + 2, e - i - 2);
      if (stack.empty() || stack.back() != n) return "mismatched </" + n + ">";
      stack.pop_back();
      i = e + 1;
      continue;
    }
    size_t j = i + 1;
    while (j < s.size() && name_char(s[j])) ++j;
    std::string n = s.substr(i + 1, j - i - 1);
    if (n.empty()) return "bad tag at " + std::to_string(i);
    // attributes
    while (true) {
      while (j < s.size() && isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size()) return "unterminated tag <" + n;
      if (s[j] == '>' || (s[j] == '/' && j + 1 < s.size() && s[j + 1] == '>')) break;
      size_t k = j;
      while (k < s.size() && name_char(s[k])) ++k;
      if (k == j || k >= s.size() || s[k] != '=') return "bad attribute in <" + n + ">";
      char q = s[k + 1];
      if (q != '"' && q != '\'') return "unquoted attribute in <" + n + ">";
      size_t end = s.find(q, k + 2);
      if (end == std::string::npos) return "unterminated attribute in <" + n + ">";
      if (s.substr(k + 2, end - k - 2).find('<') != std::string::npos) return "'<' in attribute of <" + n + ">";
      j = end + 1;
    }
    if (stack.empty()) ++roots;
    if (s[j] == '/') {
      i = j + 2;
    } else {
      stack.push_back(n);
      i = j + 1;
    }
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "expected one root element, found " + std::to_string(roots);
  return "";
}

// Every <svg>...</svg> in an HTML document.
inline std::vector<std::string> extract_svgs(const std::string& html) {
  std::vector<std::string> out;
  size_t p = 0;
  while ((p = html.find("<svg", p)) != std::string::npos) {
    size_t e = html.find("</svg>", p);
    if (e == std::string::npos) break;
    out.push_back(html.substr(p, e + 6 - p));
    p = e + 6;
  }
  return out;
}

inline size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) ++n;
  return n;
}

}  // namespace nlpc::test
