#pragma once
// Reading labelled data and scoring a TextClassifier on it: the one evaluation path used at the
// end of `nlpc train` (on the saved model, so what is scored is what was shipped) and by `nlpc eval`.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nlpc/eval/bootstrap.h"
#include "nlpc/eval/classification.h"
#include "nlpc/eval/matrix.h"
#include "nlpc/eval/metric_set.h"
#include "nlpc/eval/multilabel.h"
#include "nlpc/io/table.h"

namespace nlpc {

class TextClassifier;
// `text_column` may name several columns separated by commas ("summary,text"): their values are
// joined with a newline, in that order, into the model's input text (train, eval and predict alike).
std::vector<size_t> text_column_indices(const io::TableReader& reader, const std::string& text_column);
std::string join_text_columns(const std::vector<std::string>& fields, const std::vector<size_t>& cols);

// The rows of a data file that have a text (labelled data for classifiers, text/target pairs for
// summarizers): next() gives each row with its text columns joined; a row whose text is blank is
// skipped and counted (empty_text "skip") or an InputError naming file, line and column ("fail").
// The caller calls keep() for each row it keeps; next() stops after max_rows kept rows (0 = all).
// finish() throws an InputError when no row was kept, and warns about the skipped ones.
class TextRows {
 public:
  TextRows(const std::string& path, const std::string& format, const std::string& delimiter,
           const std::string& text_column, const std::string& empty_text, int64_t max_rows);
  io::TableReader& reader() { return reader_; }
  bool next(io::TableRecord& rec, std::string& text);
  void keep() { ++kept_; }
  void finish() const;
  int64_t skipped_empty() const { return skipped_empty_; }
  const std::vector<int64_t>& skipped_lines() const { return skipped_lines_; }  // the first 1,000

 private:
  io::TableReader reader_;
  std::string path_, text_column_, empty_text_;
  std::vector<size_t> text_cols_;
  int64_t max_rows_ = 0, kept_ = 0, skipped_empty_ = 0;
  std::vector<int64_t> skipped_lines_;
};

struct DataSpec {
  std::string format = "auto";
  std::string delimiter;  // "" = the format's
  std::string text_column = "text";
  std::string pair_column;
  std::string label_column = "label";
  bool multilabel = false;
  std::string label_separator = ";";
  std::string empty_text = "skip";  // skip | fail
  int64_t max_rows = 0;
};

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

struct EvalSettings {
  int64_t bootstrap = 0;  // resamples; 0 = no intervals
  double ci = 0.95;
  uint64_t seed = 0;
  int64_t errors = 0;     // most confident mistakes per class written to errors.csv
  size_t batch_size = 0;  // 0 = the model's default
};

struct EvalResult {
  eval::MetricSet metrics;                    // aggregate metrics first, then per class (name/label)
  std::vector<eval::MetricInterval> intervals;
  eval::Matrix proba;
  eval::ConfusionMatrix confusion;            // single-label only
  eval::PerClass per_class;                   // single-label only
  std::vector<float> thresholds;              // multi-label only
};

// Probabilities for every text, batched by length when the model prefers it, with a progress bar.
eval::Matrix predict_all(TextClassifier& clf, const std::vector<std::string>& texts,
                         const std::vector<std::string>* pairs, size_t batch_size, const std::string& what);

EvalResult evaluate_classifier(TextClassifier& clf, const LabelledSet& data, const EvalSettings& settings);

// Writes confusion_matrix.{csv,json}, classification_report.json, label_map.json, bootstrap.json
// (with intervals) and errors.csv (with settings.errors > 0) into `dir`.
void write_eval_artifacts(const std::string& dir, const EvalResult& result, const LabelledSet& data,
                          const std::vector<std::string>& labels, const EvalSettings& settings);

// "metric  value  [low, high]" table of the aggregate metrics (per-class ones left out).
std::string format_metrics_table(const EvalResult& result);
// True for the aggregate metric names (no '/'), which are logged as metrics; per-class values go
// into classification_report.json.
bool is_aggregate_metric(const std::string& name);

}  // namespace nlpc
