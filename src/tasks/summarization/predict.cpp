// `nlpc predict --task summarize`: streaming summarization of CSV/TSV/JSONL rows (a `summary`
// column/field is added; every input column is kept).
#include <chrono>
#include <cstdio>

#include "nlpc/core/error.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/data/text_rows.h"
#include "nlpc/io/row_sink.h"
#include "nlpc/io/table.h"
#include "nlpc/tasks/summarization/summarizer.h"

namespace nlpc {
PredictStats predict_summarization(const PredictOptions& opts) {
  const SummarizeOptions& so = opts.summarize;
  Summarizer sum(opts.model, opts.device, opts.precision);
  if (so.source_prefix) sum.set_source_prefix(*so.source_prefix);
  models::GenerationOptions g = sum.generation();
  apply_overrides(g, so.gen);

  io::TableReader reader = open_predict_input(opts);
  const auto columns = reader.columns();
  const std::vector<size_t> text_cols = text_column_indices(reader, opts.text_column);

  const std::string summary_col = io::unique_column(columns, "summary");
  std::vector<std::string> out_cols = columns;
  out_cols.push_back(summary_col);
  io::RowSink sink(opts.discard_output ? "" : opts.output, io::output_format(opts.output, opts.output_format, reader.format()), out_cols);

  const size_t batch = opts.batch_size > 0 ? static_cast<size_t>(opts.batch_size) : 16;
  const size_t window = opts.window > 0 ? static_cast<size_t>(opts.window) : batch * 16;
  return stream_windows(reader, opts, window, "summarize", sink, [&](const std::vector<io::TableRecord>& rows) {
    std::vector<std::string> texts;
    texts.reserve(rows.size());
    for (const auto& r : rows) texts.push_back(join_text_columns(r.fields, text_cols));
    const std::vector<std::string> out = sum.summarize(texts, g, batch);
    for (size_t r = 0; r < rows.size(); ++r) {
      std::vector<std::string> f = rows[r].fields;
      f.push_back(out[r]);
      sink.write(f);
    }
  });
}

}  // namespace nlpc
