#include "features.h"

#include <algorithm>
#include <cmath>

#include "nlpc/core/error.h"
#include "nlpc/core/signals.h"

namespace nlpc::models::ngram {

namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

// Token spans [begin, end) into `lowered`.
void tokenize(const std::string& text, bool lowercase, std::string& lowered,
              std::vector<std::pair<uint32_t, uint32_t>>& spans) {
  lowered = text;
  if (lowercase) {
    for (auto& ch : lowered) {
      if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
    }
  }
  spans.clear();
  size_t n = lowered.size();
  for (size_t i = 0; i < n;) {
    while (i < n && !is_word_byte((unsigned char)lowered[i])) ++i;
    size_t j = i;
    while (j < n && is_word_byte((unsigned char)lowered[j])) ++j;
    if (j > i) spans.emplace_back(uint32_t(i), uint32_t(j));
    i = j;
  }
}

uint64_t encode(uint64_t hash, int bits, int group) { return ((finalize(hash) >> (64 - bits)) << 1) | uint64_t(group); }

void word_ngrams(const std::string& s, const std::vector<std::pair<uint32_t, uint32_t>>& spans,
                 const NgramFeatureOptions& o, std::vector<uint64_t>& out) {
  std::vector<uint64_t> th(spans.size());
  for (size_t t = 0; t < spans.size(); ++t) {
    uint64_t h = kFnvOffset;
    for (uint32_t i = spans[t].first; i < spans[t].second; ++i) h = (h ^ (unsigned char)s[i]) * kFnvPrime;
    th[t] = h;
  }
  for (int n = o.word_ngram_min; n <= o.word_ngram_max; ++n) {
    for (size_t t = 0; t + size_t(n) <= th.size(); ++t) {
      uint64_t h = 0x77u + uint64_t(n);  // salt: word group, order n
      for (int j = 0; j < n; ++j) h = (h ^ th[t + size_t(j)]) * 0x9E3779B97F4A7C15ULL + uint64_t(j);
      out.push_back(encode(h, o.hash_bits, 0));
    }
  }
}

void char_ngrams(const std::string& s, const std::vector<std::pair<uint32_t, uint32_t>>& spans,
                 const NgramFeatureOptions& o, std::vector<uint64_t>& out) {
  std::string padded;
  for (const auto& sp : spans) {
    padded.assign(1, ' ');
    padded.append(s, sp.first, sp.second - sp.first);
    padded.push_back(' ');
    size_t len = padded.size();
    for (size_t start = 0; start + size_t(o.char_ngram_min) <= len; ++start) {
      uint64_t h = kFnvOffset ^ 0x5bd1e995u;  // salt: char group
      size_t stop = std::min(len, start + size_t(o.char_ngram_max));
      for (size_t j = start; j < stop; ++j) {
        h = (h ^ (unsigned char)padded[j]) * kFnvPrime;
        if (j + 1 - start >= size_t(o.char_ngram_min)) out.push_back(encode(h, o.hash_bits, 1));
      }
    }
  }
}

}  // namespace

void validate(const NgramFeatureOptions& o) {
  auto bad = [](const std::string& what) { throw UsageError("n-gram features: " + what); };
  if (o.hash_bits < 10 || o.hash_bits > 28) bad("hash_bits must be in 10..28, got " + std::to_string(o.hash_bits));
  if (o.word_ngram_min < 0 || (o.word_ngram_min > 0 && o.word_ngram_max < o.word_ngram_min)) {
    bad("word n-gram range must be 0 (off) or 1 <= min <= max");
  }
  if (o.char_ngram_min < 0 || (o.char_ngram_min > 0 && o.char_ngram_max < o.char_ngram_min)) {
    bad("char n-gram range must be 0 (off) or 1 <= min <= max");
  }
  if (o.word_ngram_min == 0 && o.char_ngram_min == 0) bad("enable word or character n-grams");
  if (o.min_df < 1) bad("min_df must be >= 1");
}

void extract(const std::string& text, const NgramFeatureOptions& o, std::vector<uint64_t>& out) {
  thread_local std::string lowered;
  thread_local std::vector<std::pair<uint32_t, uint32_t>> spans;
  out.clear();
  tokenize(text, o.lowercase, lowered, spans);
  if (o.word_ngram_min > 0) word_ngrams(lowered, spans, o, out);
  if (o.char_ngram_min > 0) char_ngrams(lowered, spans, o, out);
}

void count_items(std::vector<uint64_t>& items, std::vector<std::pair<uint64_t, uint32_t>>& counts) {
  std::sort(items.begin(), items.end());
  counts.clear();
  for (size_t i = 0; i < items.size();) {
    size_t j = i;
    while (j < items.size() && items[j] == items[i]) ++j;
    counts.emplace_back(items[i], uint32_t(j - i));
    i = j;
  }
}

DfCounter::DfCounter(const NgramFeatureOptions& o, int threads)
    : o_(o), partial_(size_t(threads)), items_(size_t(threads)), counts_(size_t(threads)) {}

void DfCounter::add(int thread, const std::string& text) {
  auto& df = partial_[size_t(thread)];
  if (df.empty()) df.assign(size_t(1) << o_.hash_bits, 0);
  auto& items = items_[size_t(thread)];
  auto& counts = counts_[size_t(thread)];
  extract(text, o_, items);
  count_items(items, counts);
  uint64_t last = ~uint64_t(0);
  for (const auto& c : counts) {
    const uint64_t b = c.first >> 1;  // a bucket shared by a word and a char n-gram counts once
    if (b != last) df[b]++;
    last = b;
  }
}

std::vector<uint32_t> DfCounter::finish() {
  std::vector<uint32_t> total;
  for (auto& p : partial_) {
    if (p.empty()) continue;
    if (total.empty()) {
      total.swap(p);
      continue;
    }
    for (size_t b = 0; b < total.size(); ++b) total[b] += p[b];
    std::vector<uint32_t>().swap(p);
  }
  if (total.empty()) total.assign(size_t(1) << o_.hash_bits, 0);
  return total;
}

void tfidf_text(const std::string& text, const std::vector<int32_t>& remap, const std::vector<float>& idf,
                const NgramFeatureOptions& o, RowScratch& scratch, std::vector<int32_t>& ids,
                std::vector<float>& values) {
  extract(text, o, scratch.items);
  count_items(scratch.items, scratch.counts);
  tfidf_row(scratch.counts, remap, idf, o, ids, values);
}

void tfidf_row(const std::vector<std::pair<uint64_t, uint32_t>>& counts, const std::vector<int32_t>& remap,
               const std::vector<float>& idf, const NgramFeatureOptions& o, std::vector<int32_t>& ids,
               std::vector<float>& values) {
  ids.clear();
  values.clear();
  std::vector<char> group;
  group.reserve(counts.size());
  double norm2[2] = {0, 0};
  for (const auto& c : counts) {
    int32_t id = remap[c.first >> 1];
    if (id < 0) continue;
    float tf = o.sublinear_tf ? 1.0f + std::log(float(c.second)) : float(c.second);
    float v = tf * (o.use_idf ? idf[size_t(id)] : 1.0f);
    int g = int(c.first & 1);
    if (!ids.empty() && ids.back() == id) {  // word and char n-gram in one bucket: merge
      values.back() += v;
    } else {
      ids.push_back(id);
      values.push_back(v);
      group.push_back(char(g));
    }
  }
  for (size_t i = 0; i < values.size(); ++i) norm2[int(group[i])] += double(values[i]) * values[i];
  float scale[2] = {norm2[0] > 0 ? float(o.word_weight / std::sqrt(norm2[0])) : 0.f,
                    norm2[1] > 0 ? float(o.char_weight / std::sqrt(norm2[1])) : 0.f};
  for (size_t i = 0; i < values.size(); ++i) values[i] *= scale[int(group[i])];
}

}  // namespace nlpc::models::ngram
