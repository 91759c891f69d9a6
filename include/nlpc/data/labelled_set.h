#pragma once
// Labelled data for classifiers (single-label and multi-label), read through TextRows.
#include <cstdint>
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
};

// Reads text (and pair) and label columns. Empty texts are skipped and counted (or an error with
// empty_text = "fail"); an empty label is an error (file, line, column).
LabelledSet read_labelled_set(const std::string& path, const DataSpec& spec);
// Sorted distinct labels of a set (multi-label: of all its cells).
std::vector<std::string> collect_labels(const LabelledSet& set, const DataSpec& spec);
// Fills labels/label_sets with ids of `names`. A label not in `names` is an InputError naming the
// file, the line and the label, and listing (up to 20 of) the known labels.
void map_labels(LabelledSet& set, const std::vector<std::string>& names, const DataSpec& spec);

}  // namespace nlpc
