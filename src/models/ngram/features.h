#pragma once
// Internal to the n-gram baseline: hashing of word / character n-grams and TF-IDF vectors.
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/models/ngram/linear.h"

namespace nlpc::models::ngram {

// Hashed n-gram occurrences of one text, each encoded as (bucket << 1) | group, group 0 = word,
// 1 = char; unsorted, with repeats. Appends to `out` after clearing it.
void extract(const std::string& text, const NgramFeatureOptions& o, std::vector<uint64_t>& out);

// Sorts `items` and counts repeats: (bucket << 1 | group, count) pairs in ascending order.
void count_items(std::vector<uint64_t>& items, std::vector<std::pair<uint64_t, uint32_t>>& counts);

// Document frequencies over 2^hash_bits buckets (each text counts once per bucket), counted by
// several threads at once: add() with distinct thread ids may run concurrently.
class DfCounter {
 public:
  DfCounter(const NgramFeatureOptions& o, int threads);
  void add(int thread, const std::string& text);
  // The sum over the threads (the counter is empty afterwards).
  std::vector<uint32_t> finish();

 private:
  NgramFeatureOptions o_;
  std::vector<std::vector<uint32_t>> partial_;
  std::vector<std::vector<uint64_t>> items_;
  std::vector<std::vector<std::pair<uint64_t, uint32_t>>> counts_;
};

// TF-IDF row: ids ascending, values L2-normalised per group and scaled by the group weights.
void tfidf_row(const std::vector<std::pair<uint64_t, uint32_t>>& counts, const std::vector<int32_t>& remap,
               const std::vector<float>& idf, const NgramFeatureOptions& o, std::vector<int32_t>& ids,
               std::vector<float>& values);

// extract + count_items + tfidf_row: the TF-IDF row of one text. `items` and `counts` are scratch.
struct RowScratch {
  std::vector<uint64_t> items;
  std::vector<std::pair<uint64_t, uint32_t>> counts;
};
void tfidf_text(const std::string& text, const std::vector<int32_t>& remap, const std::vector<float>& idf,
                const NgramFeatureOptions& o, RowScratch& scratch, std::vector<int32_t>& ids,
                std::vector<float>& values);

// Throws UsageError when the options are out of range.
void validate(const NgramFeatureOptions& o);

// Compressed sparse rows of a whole data set.
struct Csr {
  std::vector<int64_t> row_ptr{0};
  std::vector<int32_t> ids;
  std::vector<float> values;
  int64_t rows() const { return int64_t(row_ptr.size()) - 1; }
};

}  // namespace nlpc::models::ngram
