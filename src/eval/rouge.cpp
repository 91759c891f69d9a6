// ROUGE-N / ROUGE-L / ROUGE-Lsum with rouge_score semantics and a Unicode-aware tokenizer
// (see include/nlpc/eval/rouge.h for the one deliberate difference).
#include "nlpc/eval/rouge.h"

#include <algorithm>
#include <map>
#include <set>

#include "nlpc/core/error.h"

namespace nlpc::eval {
namespace {

// Decodes one UTF-8 code point at s[i], advancing i; invalid bytes decode as U+FFFD.
char32_t next_code_point(const std::string& s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + static_cast<size_t>(len) > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
    if ((c >> 6) != 0x2) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  i += static_cast<size_t>(len);
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Letters, digits and combining marks (an approximation of Python's str.isalnum without tables:
// punctuation, symbol, space, control, private-use and emoji blocks are separators, the rest of
// the alphabetic blocks are word characters).
bool is_word_char(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (c < 0xC0) return c == 0xAA || c == 0xB5 || c == 0xBA;  // Latin-1 punctuation and symbols
  if (c == 0xD7 || c == 0xF7) return false;                   // multiplication and division signs
  if (c == 0x37E || c == 0x387) return false;                 // Greek question mark, ano teleia
  if (c >= 0x2000 && c <= 0x2BFF) return false;  // punctuation, currency, arrows, math, shapes
  if (c >= 0x2E00 && c <= 0x2E7F) return false;  // supplemental punctuation
  if (c >= 0x3000 && c <= 0x303F) return false;  // CJK symbols and punctuation
  if (c >= 0xD800 && c <= 0xF8FF) return false;  // surrogates, private use
  if (c >= 0xFE10 && c <= 0xFE6F) return false;  // vertical / small form punctuation
  if (c >= 0xFF00 && c <= 0xFF0F) return false;  // fullwidth punctuation
  if (c >= 0xFF1A && c <= 0xFF20) return false;
  if (c >= 0xFF3B && c <= 0xFF40) return false;
  if (c >= 0xFF5B && c <= 0xFF65) return false;
  if (c >= 0xFFF0 && c <= 0xFFFF) return false;  // specials (including U+FFFD)
  if (c >= 0x1F000 && c <= 0x1FAFF) return false;  // emoji and pictographs
  return true;
}

// Lowercase for Latin-1, Latin Extended-A/B, Greek and Cyrillic (the scripts nlpc's users write).
char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x130) return 'i';
    if (c == 0x178) return 0xFF;
    const bool even_upper = (c <= 0x137) || (c >= 0x14A && c <= 0x177);
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (even_upper && c % 2 == 0) return c + 1;
    if (odd_upper && c % 2 == 1) return c + 1;
    return c;
  }
  if (c >= 0x1CD && c <= 0x1DC) return c % 2 == 1 ? c + 1 : c;
  if ((c >= 0x1DE && c <= 0x1EF) || (c >= 0x1F8 && c <= 0x21F) || (c >= 0x222 && c <= 0x233) ||
      (c >= 0x246 && c <= 0x24F))
    return c % 2 == 0 ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 0x20;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
    return c % 2 == 0 ? c + 1 : c;
  if (c >= 0x4C1 && c <= 0x4CE) return c % 2 == 1 ? c + 1 : c;
  if (c == 0x4C0) return 0x4CF;
  return c;
}

using Tokens = std::vector<std::string>;

std::map<Tokens, int> ngram_counts(const Tokens& t, int n) {
  std::map<Tokens, int> counts;
  for (size_t i = 0; i + static_cast<size_t>(n) <= t.size(); ++i)
    counts[Tokens(t.begin() + static_cast<std::ptrdiff_t>(i), t.begin() + static_cast<std::ptrdiff_t>(i) + n)]++;
  return counts;
}

double fmeasure(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

RougeScore make_score(double p, double r) { return {p, r, fmeasure(p, r)}; }

// (len(ref)+1) x (len(can)+1) LCS length table, row-major.
std::vector<int> lcs_table(const Tokens& ref, const Tokens& can) {
  const size_t cols = can.size() + 1;
  std::vector<int> t((ref.size() + 1) * cols, 0);
  for (size_t i = 1; i <= ref.size(); ++i)
    for (size_t j = 1; j <= can.size(); ++j)
      t[i * cols + j] = ref[i - 1] == can[j - 1] ? t[(i - 1) * cols + j - 1] + 1
                                                 : std::max(t[(i - 1) * cols + j], t[i * cols + j - 1]);
  return t;
}

std::vector<std::string> split_sentences(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> rouge_tokenize(const std::string& text, const RougeOptions& options) {
  std::vector<std::string> tokens;
  std::string cur;
  size_t cur_chars = 0;
  auto flush = [&] {
    if (cur.empty()) return;
    tokens.push_back(options.use_stemmer && cur_chars > 3 ? porter_stem(cur) : cur);
    cur.clear();
    cur_chars = 0;
  };
  size_t i = 0;
  while (i < text.size()) {
    char32_t c = next_code_point(text, i);
    const bool word = options.ascii_only ? (c < 0x80 && is_word_char(c))
                                         : (is_word_char(c) || (c >= 0x300 && c <= 0x36F));
    if (!word) {
      flush();
      continue;
    }
    append_utf8(cur, to_lower(c));
    ++cur_chars;
  }
  flush();
  // rouge_score drops tokens the stemmer emptied; Porter never does, but keep the check
  tokens.erase(std::remove_if(tokens.begin(), tokens.end(), [](const std::string& t) { return t.empty(); }),
               tokens.end());
  return tokens;
}

RougeScore rouge_n(const Tokens& target, const Tokens& prediction, int n) {
  auto t = ngram_counts(target, n), p = ngram_counts(prediction, n);
  int64_t overlap = 0, t_total = 0, p_total = 0;
  for (const auto& [g, c] : t) {
    t_total += c;
    auto it = p.find(g);
    if (it != p.end()) overlap += std::min(c, it->second);
  }
  for (const auto& [g, c] : p) p_total += c;
  return make_score(static_cast<double>(overlap) / static_cast<double>(std::max<int64_t>(p_total, 1)),
                    static_cast<double>(overlap) / static_cast<double>(std::max<int64_t>(t_total, 1)));
}

RougeScore rouge_l(const Tokens& target, const Tokens& prediction) {
  if (target.empty() || prediction.empty()) return {};
  const double lcs = lcs_table(target, prediction).back();
  return make_score(lcs / static_cast<double>(prediction.size()), lcs / static_cast<double>(target.size()));
}

std::vector<size_t> lcs_indices(const Tokens& ref, const Tokens& can) {
  const auto t = lcs_table(ref, can);
  const size_t cols = can.size() + 1;
  std::vector<size_t> out;
  size_t i = ref.size(), j = can.size();
  while (i > 0 && j > 0) {
    if (ref[i - 1] == can[j - 1]) {
      out.push_back(i - 1);
      --i;
      --j;
    } else if (t[i * cols + j - 1] > t[(i - 1) * cols + j]) {
      --j;
    } else {
      --i;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

RougeScore rouge_lsum(const std::vector<Tokens>& target_sentences, const std::vector<Tokens>& prediction_sentences) {
  if (target_sentences.empty() || prediction_sentences.empty()) return {};
  std::map<std::string, int64_t> ref_counts, can_counts;
  int64_t m = 0, n = 0;
  for (const auto& s : target_sentences) {
    m += static_cast<int64_t>(s.size());
    for (const auto& t : s) ref_counts[t]++;
  }
  for (const auto& s : prediction_sentences) {
    n += static_cast<int64_t>(s.size());
    for (const auto& t : s) can_counts[t]++;
  }
  if (m == 0 || n == 0) return {};
  int64_t hits = 0;
  for (const auto& ref : target_sentences) {
    std::set<size_t> uni;  // union of the LCS positions against every prediction sentence
    for (const auto& can : prediction_sentences)
      for (size_t idx : lcs_indices(ref, can)) uni.insert(idx);
    for (size_t idx : uni) {
      const auto& tok = ref[idx];
      if (can_counts[tok] > 0 && ref_counts[tok] > 0) {
        ++hits;
        --can_counts[tok];
        --ref_counts[tok];
      }
    }
  }
  return make_score(static_cast<double>(hits) / static_cast<double>(n),
                    static_cast<double>(hits) / static_cast<double>(m));
}

RougeScores rouge_score(const std::string& target, const std::string& prediction, const RougeOptions& options) {
  RougeScores s;
  const auto t = rouge_tokenize(target, options), p = rouge_tokenize(prediction, options);
  s.rouge1 = rouge_n(t, p, 1);
  s.rouge2 = rouge_n(t, p, 2);
  s.rougeL = rouge_l(t, p);
  std::vector<Tokens> ts, ps;
  for (const auto& sent : split_sentences(target)) ts.push_back(rouge_tokenize(sent, options));
  for (const auto& sent : split_sentences(prediction)) ps.push_back(rouge_tokenize(sent, options));
  s.rougeLsum = rouge_lsum(ts, ps);
  return s;
}

RougeCorpus rouge_corpus(const std::vector<std::string>& targets, const std::vector<std::string>& predictions,
                         const RougeOptions& options) {
  if (targets.size() != predictions.size())
    throw UsageError("ROUGE needs one prediction per target: got " + std::to_string(predictions.size()) +
                     " predictions for " + std::to_string(targets.size()) + " targets");
  RougeCorpus c;
  for (size_t i = 0; i < targets.size(); ++i) {
    c.per_example.push_back(rouge_score(targets[i], predictions[i], options));
    const auto& s = c.per_example.back();
    c.rouge1 += s.rouge1.fmeasure;
    c.rouge2 += s.rouge2.fmeasure;
    c.rougeL += s.rougeL.fmeasure;
    c.rougeLsum += s.rougeLsum.fmeasure;
  }
  if (!targets.empty()) {
    const double n = static_cast<double>(targets.size());
    c.rouge1 /= n, c.rouge2 /= n, c.rougeL /= n, c.rougeLsum /= n;
  }
  return c;
}

}  // namespace nlpc::eval
