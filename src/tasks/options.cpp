#include "nlpc/tasks/options.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/dist/dist.h"
#include "nlpc/io/row_sink.h"

namespace nlpc {

io::TableReader open_predict_input(const PredictOptions& opts) {
  if (opts.on_error != "fail" && opts.on_error != "skip") throw UsageError("--on-error must be fail or skip");
  io::TableOptions topts;
  topts.format = io::parse_table_format(opts.input_format);
  if (!opts.delimiter.empty()) topts.delimiter = io::parse_delimiter(opts.delimiter);
  topts.allow_ragged = opts.on_error == "skip";
  return io::TableReader(opts.input, topts);
}

PredictStats stream_windows(io::TableReader& reader, const PredictOptions& opts, size_t window,
                            const std::string& label, io::RowSink& sink,
                            const std::function<void(const std::vector<io::TableRecord>&)>& process) {
  PredictStats stats;
  const auto t0 = std::chrono::steady_clock::now();
  dist::Group* group = dist::current();
  int64_t index = 0;  // of the window
  std::string shipped;
  ProgressBar bar(label, -1, "rows");
  const size_t num_columns = reader.columns().size();
  std::vector<io::TableRecord> rows;
  rows.reserve(window);
  bool done = false;
  while (!done) {
    done = !read_window(reader, num_columns, window, opts.on_error, stats, rows);
    if (rows.empty()) break;
    check_interrupted();
    const int owner = group ? static_cast<int>(index % group->world_size()) : 0;
    const int tag = static_cast<int>(index % 1000000);
    if (group == nullptr || (owner == 0 && group->is_main())) {
      process(rows);
    } else if (owner == group->rank()) {  // a window of this rank: its rows go to rank 0
      shipped.clear();
      sink.capture(&shipped);
      process(rows);
      sink.capture(nullptr);
      group->send_bytes(shipped, 0, tag, "sending the rows of window " + std::to_string(index + 1) + " to rank 0");
    } else if (group->is_main()) {
      sink.write_raw(group->recv_bytes(owner, tag, "receiving the rows of window " + std::to_string(index + 1) +
                                                       " from rank " + std::to_string(owner)));
    }
    ++index;
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

void log_eval_params(runs::Run& run, const EvalCommandOptions& opts) {
  run.log_params(nlohmann::json{{"eval",
                                 {{"model", opts.model},
                                  {"data", opts.data},
                                  {"text_column", opts.spec.text_column},
                                  {"label_column", opts.spec.label_column},
                                  {"bootstrap", opts.bootstrap},
                                  {"ci", opts.ci}}}});
}

}  // namespace nlpc
