// Word/character error rates. See include/nlpc/eval/wer.h.
#include "nlpc/eval/wer.h"

#include <algorithm>
#include <limits>

#include "nlpc/core/error.h"
#include "nlpc/text/unicode.h"

namespace nlpc::eval {
namespace uni = nlpc::text::unicode;

EditCounts& EditCounts::operator+=(const EditCounts& o) {
  hits += o.hits;
  substitutions += o.substitutions;
  deletions += o.deletions;
  insertions += o.insertions;
  return *this;
}

std::vector<AlignedPair> align_tokens(const std::vector<std::string>& ref, const std::vector<std::string>& hyp,
                                      const AlignCosts& w) {
  const size_t n = ref.size(), m = hyp.size();
  // cost[i][j]: edits between ref[0, i) and hyp[0, j)
  std::vector<int64_t> cost((n + 1) * (m + 1));
  auto at = [&](size_t i, size_t j) -> int64_t& { return cost[i * (m + 1) + j]; };
  for (size_t i = 0; i <= n; ++i) at(i, 0) = static_cast<int64_t>(i) * w.deletion;
  for (size_t j = 0; j <= m; ++j) at(0, j) = static_cast<int64_t>(j) * w.insertion;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const int64_t diag = at(i - 1, j - 1) + (ref[i - 1] == hyp[j - 1] ? 0 : w.substitution);
      at(i, j) = std::min({diag, at(i - 1, j) + w.deletion, at(i, j - 1) + w.insertion});
    }
  }
  std::vector<AlignedPair> out;
  out.reserve(n + m);
  size_t i = n, j = m;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0) {
      const bool same = ref[i - 1] == hyp[j - 1];
      if (at(i, j) == at(i - 1, j - 1) + (same ? 0 : w.substitution)) {
        out.push_back({same ? 'C' : 'S', static_cast<int64_t>(i - 1), static_cast<int64_t>(j - 1)});
        --i, --j;
        continue;
      }
    }
    if (i > 0 && at(i, j) == at(i - 1, j) + w.deletion) {
      out.push_back({'D', static_cast<int64_t>(i - 1), -1});
      --i;
    } else {
      out.push_back({'I', -1, static_cast<int64_t>(j - 1)});
      --j;
    }
  }
  return {out.rbegin(), out.rend()};
}

EditCounts count_edits(const std::vector<std::string>& ref, const std::vector<std::string>& hyp,
                       const AlignCosts& costs) {
  EditCounts c;
  for (const auto& p : align_tokens(ref, hyp, costs)) {
    switch (p.op) {
      case 'C': ++c.hits; break;
      case 'S': ++c.substitutions; break;
      case 'D': ++c.deletions; break;
      default: ++c.insertions; break;
    }
  }
  return c;
}

std::string normalize_transcript(std::string_view text, const NormalizeOptions& opts) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp = uni::next_cp(text, i);
    if (opts.strip_punctuation && uni::is_punctuation(cp)) cp = U' ';
    if (opts.collapse_spaces && uni::is_whitespace(cp)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    if (opts.lowercase) {
      uni::append_lower(out, cp);
    } else {
      uni::append_utf8(out, cp);
    }
  }
  return out;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    const char32_t cp = uni::next_cp(text, i);
    if (uni::is_whitespace(cp)) {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.append(text.substr(start, i - start));
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

std::vector<std::string> split_code_points(std::string_view text) {
  std::vector<std::string> cps;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    uni::next_cp(text, i);
    cps.emplace_back(text.substr(start, i - start));
  }
  return cps;
}

EditCounts word_edits(std::string_view ref, std::string_view hyp, const AlignCosts& costs) {
  return count_edits(split_words(ref), split_words(hyp), costs);
}

EditCounts char_edits(std::string_view ref, std::string_view hyp, const AlignCosts& costs) {
  return count_edits(split_code_points(ref), split_code_points(hyp), costs);
}

double error_rate(const EditCounts& c) {
  if (c.ref_length() == 0) return c.errors() == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return static_cast<double>(c.errors()) / static_cast<double>(c.ref_length());
}

AsrScores score_transcripts(const std::vector<std::string>& refs, const std::vector<std::string>& hyps,
                            const NormalizeOptions* normalize) {
  if (refs.size() != hyps.size()) {
    throw UsageError("score_transcripts: " + std::to_string(refs.size()) + " references but " +
                     std::to_string(hyps.size()) + " hypotheses");
  }
  AsrScores s;
  for (size_t k = 0; k < refs.size(); ++k) {
    const std::string r = normalize ? normalize_transcript(refs[k], *normalize) : refs[k];
    const std::string h = normalize ? normalize_transcript(hyps[k], *normalize) : hyps[k];
    s.words.push_back(word_edits(r, h));
    s.chars.push_back(char_edits(r, h));
    s.word_total += s.words.back();
    s.char_total += s.chars.back();
  }
  return s;
}

}  // namespace nlpc::eval
