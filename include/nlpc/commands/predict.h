#pragma once
// `nlpc predict`: streaming batch prediction over CSV/TSV/JSONL/text files with the task's model
// (tasks::find_task(opts.task).predict). Classification (src/tasks/classification/predict.cpp):
//
// Rows are read in windows of `window` rows; inside a window, batches are formed by text length
// (for padding-based models) and results are written back in input order, so memory is bounded by
// the window whatever the file size. Every input column is kept, in order, and these are added:
//   label, score                  top-1 class and its probability (multi-label: the labels at or
//                                 above their threshold joined by ';', score = their mean probability)
//   top_labels, top_scores        with --top-k K > 1 (CSV: ';'-joined; JSONL: "top_k": [{label, score}])
//   prob_<label> ...              with --all-probs (JSONL: "probabilities": {label: p})
// When the input already has a column named like an added one, the added column is prefixed with
// "predicted_". Output is written to a temporary file renamed at the end ("-" = stdout).
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/tasks/options.h"

namespace nlpc {

PredictStats run_predict(const PredictOptions& opts);

// Prints the skipped malformed rows and the rows/s line of a finished prediction to stderr.
void report_predict_stats(const PredictStats& s);

}  // namespace nlpc
