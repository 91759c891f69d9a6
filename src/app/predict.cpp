#include "nlpc/app/predict.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/io/csv.h"
#include "nlpc/io/jsonl.h"
#include "nlpc/io/table.h"
#include "nlpc/app/asr.h"
#include "nlpc/app/evaluate.h"
#include "nlpc/models/text_classifier.h"

namespace nlpc {
namespace {
using io::TableFormat;

// Writes rows as CSV/TSV or JSONL.
class RowSink {
 public:
  RowSink(const std::string& path, TableFormat format, std::vector<std::string> columns)
      : format_(format), columns_(std::move(columns)) {
    if (format_ == TableFormat::kJsonl) {
      jsonl_ = std::make_unique<io::JsonlWriter>(path);
    } else {
      io::CsvWriterOptions o;
      o.delimiter = format_ == TableFormat::kTsv ? '\t' : ',';
      csv_ = std::make_unique<io::CsvWriter>(path, o);
      csv_->write_row(columns_);
    }
  }
  bool jsonl() const { return jsonl_ != nullptr; }
  void write_csv(const std::vector<std::string>& fields) { csv_->write_row(fields); }
  void write_json(const nlohmann::ordered_json& j) { jsonl_->write(j); }
  void commit() {
    if (jsonl_) jsonl_->commit();
    if (csv_) csv_->commit();
  }

 private:
  TableFormat format_;
  std::vector<std::string> columns_;
  std::unique_ptr<io::CsvWriter> csv_;
  std::unique_ptr<io::JsonlWriter> jsonl_;
};

std::string fmt_prob(float p) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", static_cast<double>(p));
  return buf;
}

std::string unique_name(const std::vector<std::string>& existing, const std::string& name) {
  if (std::find(existing.begin(), existing.end(), name) == existing.end()) return name;
  return "predicted_" + name;
}

struct Pending {
  io::TableRecord record;
};
}  // namespace

bool read_window(io::TableReader& reader, size_t num_columns, size_t window, const std::string& on_error,
                 PredictStats& stats, std::vector<io::TableRecord>& rows) {
  rows.clear();
  while (rows.size() < window) {
    io::TableRecord rec;
    bool got = false;
    const int64_t before = reader.bytes_read();
    try {
      got = reader.next(rec);
    } catch (const InputError& e) {
      if (on_error != "skip" || reader.bytes_read() == before) throw;
      ++stats.skipped;
      if (stats.skipped_rows.size() < 1000) stats.skipped_rows.push_back(e.line());
      spdlog::warn("skipping malformed row: {}", e.what());
      continue;
    }
    if (!got) return false;
    if (rec.size() != num_columns) {
      if (on_error != "skip") {
        throw reader.error_at(rec.size(), "expected " + std::to_string(num_columns) + " fields, found " +
                                              std::to_string(rec.size()));
      }
      ++stats.skipped;
      if (stats.skipped_rows.size() < 1000) stats.skipped_rows.push_back(rec.line);
      spdlog::warn("skipping malformed row at line {}: expected {} fields, found {}", rec.line, num_columns,
                   rec.size());
      continue;
    }
    rows.push_back(std::move(rec));
  }
  return true;
}

PredictStats run_predict(const PredictOptions& opts) {
  if (!opts.asr_model.empty()) return run_predict_speech(opts);  // src/app/asr.cpp
  if (opts.top_k < 1) throw UsageError("--top-k must be >= 1");
  if (opts.on_error != "fail" && opts.on_error != "skip") throw UsageError("--on-error must be fail or skip");
  auto clf = load_text_classifier(opts.model, opts.device);
  const auto& labels = clf->labels();
  const int k = static_cast<int>(labels.size());
  const int top_k = std::min(opts.top_k, k);

  io::TableOptions topts;
  topts.format = io::parse_table_format(opts.input_format);
  if (!opts.delimiter.empty()) topts.delimiter = io::parse_delimiter(opts.delimiter);
  topts.allow_ragged = opts.on_error == "skip";
  io::TableReader reader(opts.input, topts);
  const auto& columns = reader.columns();
  const std::vector<size_t> text_cols = text_column_indices(reader, opts.text_column);
  const int64_t pair_idx = opts.pair_column.empty() ? -1 : static_cast<int64_t>(reader.column_index(opts.pair_column));

  TableFormat out_format = io::parse_table_format(opts.output_format);
  if (out_format == TableFormat::kAuto) {
    out_format = opts.output != "-" ? io::format_from_path(opts.output) : reader.format();
  }
  if (out_format == TableFormat::kText) out_format = TableFormat::kCsv;

  // Output columns.
  std::vector<std::string> out_cols = columns;
  const std::string label_col = unique_name(columns, "label"), score_col = unique_name(columns, "score");
  out_cols.push_back(label_col);
  out_cols.push_back(score_col);
  const std::string top_labels_col = unique_name(columns, "top_labels"), top_scores_col = unique_name(columns, "top_scores");
  if (top_k > 1) out_cols.push_back(top_labels_col), out_cols.push_back(top_scores_col);
  if (opts.all_probs) {
    for (const auto& l : labels) out_cols.push_back(unique_name(columns, "prob_" + l));
  }
  RowSink sink(opts.output, out_format, out_cols);

  std::vector<float> thresholds = clf->thresholds();
  if (opts.threshold >= 0 || thresholds.size() != labels.size()) {
    thresholds.assign(labels.size(), opts.threshold >= 0 ? static_cast<float>(opts.threshold) : 0.5f);
  }

  const size_t batch = opts.batch_size > 0 ? static_cast<size_t>(opts.batch_size) : clf->default_batch_size();
  const size_t window = opts.window > 0 ? static_cast<size_t>(opts.window) : batch * 64;
  PredictStats stats;
  auto t0 = std::chrono::steady_clock::now();
  ProgressBar bar("predict", -1, "rows");

  std::vector<io::TableRecord> rows;
  rows.reserve(window);
  bool done = false;
  while (!done) {
    // Fill a window.
    done = !read_window(reader, columns.size(), window, opts.on_error, stats, rows);
    if (rows.empty()) break;
    check_interrupted();

    // Predict in length-sorted batches.
    std::vector<std::string> texts_of_window;
    texts_of_window.reserve(rows.size());
    for (const auto& r : rows) texts_of_window.push_back(join_text_columns(r.fields, text_cols));
    std::vector<size_t> order(rows.size());
    std::iota(order.begin(), order.end(), 0);
    if (clf->prefers_length_batching()) {
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return texts_of_window[a].size() < texts_of_window[b].size();
      });
    }
    eval::Matrix proba(static_cast<int64_t>(rows.size()), k);
    for (size_t start = 0; start < order.size(); start += batch) {
      const size_t end = std::min(order.size(), start + batch);
      std::vector<std::string> texts, pairs;
      for (size_t i = start; i < end; ++i) {
        texts.push_back(texts_of_window[order[i]]);
        if (pair_idx >= 0) pairs.push_back(rows[order[i]].fields[static_cast<size_t>(pair_idx)]);
      }
      eval::Matrix p = clf->predict_proba(texts, pair_idx >= 0 ? &pairs : nullptr);
      for (size_t i = start; i < end; ++i) {
        std::copy(p.row(static_cast<int64_t>(i - start)), p.row(static_cast<int64_t>(i - start)) + k,
                  proba.row(static_cast<int64_t>(order[i])));
      }
    }

    // Write in input order.
    for (size_t r = 0; r < rows.size(); ++r) {
      const float* p = proba.row(static_cast<int64_t>(r));
      std::vector<int> rank(static_cast<size_t>(k));
      std::iota(rank.begin(), rank.end(), 0);
      std::partial_sort(rank.begin(), rank.begin() + top_k, rank.end(),
                        [&](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
      std::string label;
      float score = p[rank[0]];
      if (clf->multilabel()) {
        double sum = 0;
        int n = 0;
        for (int j = 0; j < k; ++j) {
          if (p[j] >= thresholds[static_cast<size_t>(j)]) {
            label += (label.empty() ? "" : ";") + labels[static_cast<size_t>(j)];
            sum += p[j];
            ++n;
          }
        }
        score = n > 0 ? static_cast<float>(sum / n) : 0.f;
      } else {
        label = labels[static_cast<size_t>(rank[0])];
      }
      if (sink.jsonl()) {
        nlohmann::ordered_json j;
        for (size_t c = 0; c < columns.size(); ++c) j[columns[c]] = rows[r].fields[c];
        j[label_col] = label;
        j[score_col] = score;
        if (top_k > 1) {
          auto arr = nlohmann::ordered_json::array();
          for (int t = 0; t < top_k; ++t)
            arr.push_back({{"label", labels[static_cast<size_t>(rank[static_cast<size_t>(t)])]},
                           {"score", p[rank[static_cast<size_t>(t)]]}});
          j["top_k"] = arr;
        }
        if (opts.all_probs) {
          nlohmann::ordered_json probs;
          for (int c = 0; c < k; ++c) probs[labels[static_cast<size_t>(c)]] = p[c];
          j["probabilities"] = probs;
        }
        sink.write_json(j);
      } else {
        std::vector<std::string> f = rows[r].fields;
        f.push_back(label);
        f.push_back(fmt_prob(score));
        if (top_k > 1) {
          std::string tl, ts;
          for (int t = 0; t < top_k; ++t) {
            tl += (t ? ";" : "") + labels[static_cast<size_t>(rank[static_cast<size_t>(t)])];
            ts += (t ? ";" : "") + fmt_prob(p[rank[static_cast<size_t>(t)]]);
          }
          f.push_back(tl);
          f.push_back(ts);
        }
        if (opts.all_probs) {
          for (int c = 0; c < k; ++c) f.push_back(fmt_prob(p[c]));
        }
        sink.write_csv(f);
      }
    }
    stats.rows += static_cast<int64_t>(rows.size());
    if (reader.input_size() > 0) {
      bar.set_postfix(std::to_string(100 * reader.bytes_read() / reader.input_size()) + "% of input");
    }
    bar.update(stats.rows);
  }
  sink.commit();
  bar.finish();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace nlpc
