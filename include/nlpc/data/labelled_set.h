#pragma once
// Labelled data for classifiers (single-label and multi-label), read through TextRows.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nlpc/data/spec.h"
#include "nlpc/data/text_rows.h"
#include "nlpc/eval/multilabel.h"

namespace nlpc {

struct LabelledSet {
  std::string file;
  std::vector<std::string> texts, pairs;
  std::vector<std::string> raw_labels;  // as read (multi-label: the cell)
  std::vector<int64_t> lines;
  std::vector<int> labels;         // single-label ids (after map_labels)
  eval::LabelSets label_sets;      // multi-label ids (after map_labels)
  int64_t skipped_empty = 0;       // rows skipped because the text was empty
  int64_t skipped_unlabelled = 0;  // multi-label rows with an empty label cell (not annotated), skipped
  std::vector<int64_t> skipped_lines;
  int64_t num_rows = 0;  // rows kept (= labels), also when the texts were not kept
};

// Reads text (and pair) and label columns. Empty texts are skipped and counted (or an error with
// empty_text = "fail"); an empty label is an error (file, line, column).
// With keep_texts false, the texts and pairs are not kept (a trainer that streams them again
// with scan_labelled_texts): the labels, lines and counts are.
LabelledSet read_labelled_set(const std::string& path, const DataSpec& spec, bool keep_texts = true);
// Calls fn(text) with the text of each row read_labelled_set keeps, in the same order, one row
// in memory at a time (fn may move from the string).
void scan_labelled_texts(const std::string& path, const DataSpec& spec,
                         const std::function<void(std::string& text)>& fn);
// Sorted distinct labels of a set (multi-label: of all its cells).
std::vector<std::string> collect_labels(const LabelledSet& set, const DataSpec& spec);
// Fills labels/label_sets with ids of `names`. A label not in `names` is an InputError naming the
// file, the line and the label, and listing (up to 20 of) the known labels.
void map_labels(LabelledSet& set, const std::vector<std::string>& names, const DataSpec& spec);

}  // namespace nlpc
