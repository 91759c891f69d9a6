// `nlpc predict` for classifiers: streaming batch classification (see include/nlpc/commands/predict.h
// for the columns it adds). Rows are read in windows; inside a window texts are batched by length
// (predict_all) and written back in input order, so memory is bounded by the window.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/data/text_rows.h"
#include "nlpc/io/row_sink.h"
#include "nlpc/io/table.h"
#include "nlpc/tasks/asr/asr.h"
#include "nlpc/tasks/classification/classification.h"
#include "nlpc/tasks/classification/classifier.h"
#include "nlpc/tasks/classification/scoring.h"

namespace nlpc {
namespace {
using io::TableFormat;

std::string fmt_prob(float p) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", static_cast<double>(p));
  return buf;
}

// What each output row holds: the input's columns, then label, score, top-k and probabilities.
struct Layout {
  std::vector<std::string> input_columns, labels;
  std::vector<float> thresholds;  // multi-label decision thresholds
  std::string label_col, score_col;
  int top_k = 1;
  bool multilabel = false, all_probs = false;

  std::vector<std::string> output_columns() const {
    std::vector<std::string> out = input_columns;
    out.push_back(label_col);
    out.push_back(score_col);
    if (top_k > 1) {
      out.push_back(io::unique_column(input_columns, "top_labels"));
      out.push_back(io::unique_column(input_columns, "top_scores"));
    }
    if (all_probs) {
      for (const auto& l : labels) out.push_back(io::unique_column(input_columns, "prob_" + l));
    }
    return out;
  }
};

Layout make_layout(const PredictOptions& opts, const TextClassifier& clf, const std::vector<std::string>& columns) {
  Layout l;
  l.input_columns = columns;
  l.labels = clf.labels();
  l.top_k = std::min(opts.top_k, static_cast<int>(l.labels.size()));
  l.multilabel = clf.multilabel();
  l.all_probs = opts.all_probs;
  l.label_col = io::unique_column(columns, "label");
  l.score_col = io::unique_column(columns, "score");
  l.thresholds = clf.thresholds();
  if (opts.threshold >= 0 || l.thresholds.size() != l.labels.size()) {
    l.thresholds.assign(l.labels.size(), opts.threshold >= 0 ? static_cast<float>(opts.threshold) : 0.5f);
  }
  return l;
}

// The label and score of one row: top-1 (single-label) or the labels at or above their threshold
// joined by ';' with their mean probability (multi-label).
std::pair<std::string, float> decide(const Layout& l, const float* p, const std::vector<int>& rank) {
  if (!l.multilabel) return {l.labels[static_cast<size_t>(rank[0])], p[rank[0]]};
  std::string label;
  double sum = 0;
  int n = 0;
  for (size_t j = 0; j < l.labels.size(); ++j) {
    if (p[j] >= l.thresholds[j]) {
      label += (label.empty() ? "" : ";") + l.labels[j];
      sum += p[j];
      ++n;
    }
  }
  return {label, n > 0 ? static_cast<float>(sum / n) : 0.f};
}

void write_row(io::RowSink& sink, const Layout& l, const io::TableRecord& row, const float* p) {
  const int k = static_cast<int>(l.labels.size());
  std::vector<int> rank(static_cast<size_t>(k));
  std::iota(rank.begin(), rank.end(), 0);
  std::partial_sort(rank.begin(), rank.begin() + l.top_k, rank.end(),
                    [&](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  const auto [label, score] = decide(l, p, rank);
  const auto top = [&](int t) { return static_cast<size_t>(rank[static_cast<size_t>(t)]); };
  if (sink.jsonl()) {
    nlohmann::ordered_json j;
    for (size_t c = 0; c < l.input_columns.size(); ++c) j[l.input_columns[c]] = row.fields[c];
    j[l.label_col] = label;
    j[l.score_col] = score;
    if (l.top_k > 1) {
      auto arr = nlohmann::ordered_json::array();
      for (int t = 0; t < l.top_k; ++t) arr.push_back({{"label", l.labels[top(t)]}, {"score", p[top(t)]}});
      j["top_k"] = arr;
    }
    if (l.all_probs) {
      nlohmann::ordered_json probs;
      for (int c = 0; c < k; ++c) probs[l.labels[static_cast<size_t>(c)]] = p[c];
      j["probabilities"] = probs;
    }
    sink.write_json(j);
    return;
  }
  std::vector<std::string> f = row.fields;
  f.push_back(label);
  f.push_back(fmt_prob(score));
  if (l.top_k > 1) {
    std::string tl, ts;
    for (int t = 0; t < l.top_k; ++t) {
      tl += (t ? ";" : "") + l.labels[top(t)];
      ts += (t ? ";" : "") + fmt_prob(p[top(t)]);
    }
    f.push_back(tl);
    f.push_back(ts);
  }
  if (l.all_probs) {
    for (int c = 0; c < k; ++c) f.push_back(fmt_prob(p[c]));
  }
  sink.write(f);
}

}  // namespace

PredictStats predict_classification(const PredictOptions& opts) {
  if (!opts.asr_model.empty()) return predict_speech(opts);  // src/tasks/asr/predict.cpp
  if (opts.top_k < 1) throw UsageError("--top-k must be >= 1");
  auto clf = load_text_classifier(opts.model, opts.device, opts.precision);
  io::TableReader reader = open_predict_input(opts);
  const auto columns = reader.columns();
  const std::vector<size_t> text_cols = text_column_indices(reader, opts.text_column);
  const int64_t pair_idx = opts.pair_column.empty() ? -1 : static_cast<int64_t>(reader.column_index(opts.pair_column));
  const Layout layout = make_layout(opts, *clf, columns);
  io::RowSink sink(opts.discard_output ? "" : opts.output, io::output_format(opts.output, opts.output_format, reader.format()),
                   layout.output_columns());

  const size_t batch = opts.batch_size > 0 ? static_cast<size_t>(opts.batch_size) : clf->default_batch_size();
  const size_t window = opts.window > 0 ? static_cast<size_t>(opts.window) : batch * 64;
  return stream_windows(reader, opts, window, "predict", sink, [&](const std::vector<io::TableRecord>& rows) {
    std::vector<std::string> texts, pairs;
    texts.reserve(rows.size());
    for (const auto& r : rows) {
      texts.push_back(join_text_columns(r.fields, text_cols));
      if (pair_idx >= 0) pairs.push_back(r.fields[static_cast<size_t>(pair_idx)]);
    }
    const eval::Matrix proba = predict_all(*clf, texts, pair_idx >= 0 ? &pairs : nullptr, batch, "");
    for (size_t r = 0; r < rows.size(); ++r) write_row(sink, layout, rows[r], proba.row(static_cast<int64_t>(r)));
  });
}

}  // namespace nlpc
