#pragma once
// Labelled data for classifiers (single-label and multi-label), read through TextRows.
#include <cstdint>
#include <functional>
#include <map>
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
// The rows read_labelled_set keeps, one at a time (text, label cell, pair cell), each with the
// position its reading starts at, so that a streamed trainer can read it again.
class LabelledRows {
 public:
  LabelledRows(const std::string& path, const DataSpec& spec,
               size_t buffer_size = io::ChunkBuffer::kDefaultCapacity);
  // The next kept row; the references below are valid until the next call (text() may be moved from).
  bool next();
  std::string& text() { return text_; }
  const std::string& label() const { return rec_.fields[label_col_]; }
  const std::string* pair() const {
    return pair_col_ < 0 ? nullptr : &rec_.fields[static_cast<size_t>(pair_col_)];
  }
  const io::TableRecord& record() const { return rec_; }
  // Where the next row's reading starts; seek() goes back there, `kept` rows counted before it.
  io::ReadPosition position() const { return rows_.position(); }
  void seek(const io::ReadPosition& p, int64_t kept) { rows_.seek(p, kept); }
  int64_t skipped_unlabelled() const { return skipped_unlabelled_; }
  // The checks and warnings after the last row (see TextRows::finish), for a whole pass.
  void finish() const;
  const TextRows& text_rows() const { return rows_; }

 private:
  std::string path_;
  TextRows rows_;
  DataSpec spec_;
  size_t label_col_ = 0;
  int64_t pair_col_ = -1;
  io::TableRecord rec_;
  std::string text_;
  int64_t skipped_unlabelled_ = 0;
};

// What a streamed trainer knows of its training file before the first pass, without keeping rows:
// the kept rows, each label's count (multi-label: rows carrying it), a fingerprint of the rows
// (lengths and labels) that tells a changed file, and the file cut into chunks of consecutive rows
// (which the trainer reads in a shuffled order).
struct LabelledSummary {
  // A run of consecutive kept rows: where its reading starts, the kept rows before it, its rows.
  struct Chunk {
    io::ReadPosition start;
    int64_t first_row = 0;
    int64_t rows = 0;
  };
  std::string file;
  int64_t num_rows = 0;
  std::vector<Chunk> chunks;  // in file order, each about chunk_bytes of the file
  std::map<std::string, int64_t> label_counts;
  int64_t skipped_empty = 0;
  int64_t skipped_unlabelled = 0;
  uint64_t fingerprint = 0;
};
LabelledSummary summarize_labelled_set(const std::string& path, const DataSpec& spec, int64_t chunk_bytes = 1 << 20);
// The label names of a cell: itself, or (multi-label) its sorted distinct parts.
std::vector<std::string> labels_of_cell(const std::string& cell, const DataSpec& spec);

// Sorted distinct labels of a set (multi-label: of all its cells).
std::vector<std::string> collect_labels(const LabelledSet& set, const DataSpec& spec);
// Fills labels/label_sets with ids of `names`. Single-label: a label not in `names` is an
// InputError naming the file, the line and the label, and listing (up to 20 of) the known labels.
// Multi-label: such a label is left out of the row's set (as scikit-learn's MultiLabelBinarizer
// does), and a warning counts them.
void map_labels(LabelledSet& set, const std::vector<std::string>& names, const DataSpec& spec);

}  // namespace nlpc
