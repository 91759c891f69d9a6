// Porter stemmer, following NLTK's PorterStemmer in its default NLTK_EXTENSIONS mode (the stemmer
// rouge_score uses): the paper's steps 1a-5b plus NLTK's irregular forms, 'ies'/'ied' handling of
// four-letter words, the vc-word cvc rule, 'alli' recursion, 'fulli' and 'logi' rules, and words of
// at most two letters left alone.
#include <map>
#include <string>

#include "nlpc/eval/rouge.h"

namespace nlpc::eval {
namespace {

bool ends_with(const std::string& w, const std::string& s) {
  return w.size() >= s.size() && w.compare(w.size() - s.size(), s.size(), s) == 0;
}

std::string drop(const std::string& w, size_t n) { return w.substr(0, w.size() - n); }

bool is_consonant(const std::string& w, size_t i) {
  const char c = w[i];
  if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') return false;
  if (c == 'y') return i == 0 ? true : !is_consonant(w, i - 1);
  return true;
}

// Number of "vc" transitions in the word's consonant/vowel pattern (Porter's m).
int measure(const std::string& stem) {
  int m = 0;
  for (size_t i = 0; i + 1 < stem.size(); ++i)
    if (!is_consonant(stem, i) && is_consonant(stem, i + 1)) ++m;
  return m;
}

bool positive(const std::string& stem) { return measure(stem) > 0; }

bool contains_vowel(const std::string& stem) {
  for (size_t i = 0; i < stem.size(); ++i)
    if (!is_consonant(stem, i)) return true;
  return false;
}

bool ends_double_consonant(const std::string& w) {
  return w.size() >= 2 && w[w.size() - 1] == w[w.size() - 2] && is_consonant(w, w.size() - 1);
}

bool ends_cvc(const std::string& w) {
  const size_t n = w.size();
  if (n >= 3 && is_consonant(w, n - 3) && !is_consonant(w, n - 2) && is_consonant(w, n - 1) &&
      w[n - 1] != 'w' && w[n - 1] != 'x' && w[n - 1] != 'y')
    return true;
  return n == 2 && !is_consonant(w, 0) && is_consonant(w, 1);  // NLTK extension
}

enum class Cond { kNone, kPositive, kGreaterOne, kIon };

struct Rule {
  const char* suffix;
  const char* replacement;
  Cond cond;
};

bool holds(Cond c, const std::string& stem) {
  switch (c) {
    case Cond::kNone: return true;
    case Cond::kPositive: return measure(stem) > 0;
    case Cond::kGreaterOne: return measure(stem) > 1;
    case Cond::kIon: return measure(stem) > 1 && !stem.empty() && (stem.back() == 's' || stem.back() == 't');
  }
  return false;
}

// The first rule whose suffix matches decides: replaced when its condition holds, else unchanged.
std::string apply_rules(const std::string& w, const std::vector<Rule>& rules) {
  for (const auto& r : rules) {
    if (ends_with(w, r.suffix)) {
      std::string stem = drop(w, std::char_traits<char>::length(r.suffix));
      return holds(r.cond, stem) ? stem + r.replacement : w;
    }
  }
  return w;
}

std::string step1a(const std::string& w) {
  if (ends_with(w, "ies") && w.size() == 4) return drop(w, 3) + "ie";
  return apply_rules(w, {{"sses", "ss", Cond::kNone}, {"ies", "i", Cond::kNone}, {"ss", "ss", Cond::kNone},
                         {"s", "", Cond::kNone}});
}

std::string step1b(const std::string& w) {
  if (ends_with(w, "ied")) return drop(w, 3) + (w.size() == 4 ? "ie" : "i");
  if (ends_with(w, "eed")) {
    std::string stem = drop(w, 3);
    return measure(stem) > 0 ? stem + "ee" : w;
  }
  std::string stem;
  bool trimmed = false;
  for (const char* suffix : {"ed", "ing"}) {
    if (ends_with(w, suffix)) {
      std::string s = drop(w, std::char_traits<char>::length(suffix));
      if (contains_vowel(s)) {
        stem = s;
        trimmed = true;
        break;
      }
    }
  }
  if (!trimmed) return w;
  if (ends_with(stem, "at")) return stem + "e";
  if (ends_with(stem, "bl")) return stem + "e";
  if (ends_with(stem, "iz")) return stem + "e";
  if (ends_double_consonant(stem)) {
    const char last = stem.back();
    return (last != 'l' && last != 's' && last != 'z') ? drop(stem, 1) : stem;
  }
  if (measure(stem) == 1 && ends_cvc(stem)) return stem + "e";
  return stem;
}

std::string step1c(const std::string& w) {
  if (ends_with(w, "y")) {
    std::string stem = drop(w, 1);
    if (stem.size() > 1 && is_consonant(stem, stem.size() - 1)) return stem + "i";
  }
  return w;
}

std::string step2(const std::string& w) {
  if (ends_with(w, "alli") && positive(drop(w, 4))) return step2(drop(w, 4) + "al");
  static const std::vector<Rule> rules = {
      {"ational", "ate", Cond::kPositive}, {"tional", "tion", Cond::kPositive}, {"enci", "ence", Cond::kPositive},
      {"anci", "ance", Cond::kPositive},   {"izer", "ize", Cond::kPositive},    {"bli", "ble", Cond::kPositive},
      {"alli", "al", Cond::kPositive},     {"entli", "ent", Cond::kPositive},   {"eli", "e", Cond::kPositive},
      {"ousli", "ous", Cond::kPositive},   {"ization", "ize", Cond::kPositive}, {"ation", "ate", Cond::kPositive},
      {"ator", "ate", Cond::kPositive},    {"alism", "al", Cond::kPositive},    {"iveness", "ive", Cond::kPositive},
      {"fulness", "ful", Cond::kPositive}, {"ousness", "ous", Cond::kPositive}, {"aliti", "al", Cond::kPositive},
      {"iviti", "ive", Cond::kPositive},   {"biliti", "ble", Cond::kPositive},  {"fulli", "ful", Cond::kPositive},
  };
  for (const auto& r : rules) {
    if (ends_with(w, r.suffix)) {
      std::string stem = drop(w, std::char_traits<char>::length(r.suffix));
      return holds(r.cond, stem) ? stem + r.replacement : w;
    }
  }
  // 'logi' -> 'log' with the 'l' kept in the stem for the measure (NLTK extension)
  if (ends_with(w, "logi")) return positive(drop(w, 3)) ? drop(w, 4) + "log" : w;
  return w;
}

std::string step3(const std::string& w) {
  return apply_rules(w, {{"icate", "ic", Cond::kPositive}, {"ative", "", Cond::kPositive},
                         {"alize", "al", Cond::kPositive}, {"iciti", "ic", Cond::kPositive},
                         {"ical", "ic", Cond::kPositive},  {"ful", "", Cond::kPositive},
                         {"ness", "", Cond::kPositive}});
}

std::string step4(const std::string& w) {
  return apply_rules(w, {{"al", "", Cond::kGreaterOne},   {"ance", "", Cond::kGreaterOne},
                         {"ence", "", Cond::kGreaterOne}, {"er", "", Cond::kGreaterOne},
                         {"ic", "", Cond::kGreaterOne},   {"able", "", Cond::kGreaterOne},
                         {"ible", "", Cond::kGreaterOne}, {"ant", "", Cond::kGreaterOne},
                         {"ement", "", Cond::kGreaterOne}, {"ment", "", Cond::kGreaterOne},
                         {"ent", "", Cond::kGreaterOne},  {"ion", "", Cond::kIon},
                         {"ou", "", Cond::kGreaterOne},   {"ism", "", Cond::kGreaterOne},
                         {"ate", "", Cond::kGreaterOne},  {"iti", "", Cond::kGreaterOne},
                         {"ous", "", Cond::kGreaterOne},  {"ive", "", Cond::kGreaterOne},
                         {"ize", "", Cond::kGreaterOne}});
}

std::string step5a(const std::string& w) {
  if (ends_with(w, "e")) {
    std::string stem = drop(w, 1);
    const int m = measure(stem);
    if (m > 1) return stem;
    if (m == 1 && !ends_cvc(stem)) return stem;
  }
  return w;
}

std::string step5b(const std::string& w) {
  if (ends_with(w, "ll")) return measure(drop(w, 1)) > 1 ? drop(w, 1) : w;
  return w;
}

}  // namespace

std::string porter_stem(const std::string& word) {
  for (unsigned char c : word)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return word;
  static const std::map<std::string, std::string> irregular = {
      {"sky", "sky"},         {"skies", "sky"},     {"dying", "die"},       {"lying", "lie"},
      {"tying", "tie"},       {"news", "news"},     {"innings", "inning"},  {"inning", "inning"},
      {"outings", "outing"},  {"outing", "outing"}, {"cannings", "canning"}, {"canning", "canning"},
      {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"}, {"succeed", "succeed"},
  };
  if (auto it = irregular.find(word); it != irregular.end()) return it->second;
  if (word.size() <= 2) return word;
  std::string w = step1a(word);
  w = step1b(w);
  w = step1c(w);
  w = step2(w);
  w = step3(w);
  w = step4(w);
  w = step5a(w);
  return step5b(w);
}

}  // namespace nlpc::eval
