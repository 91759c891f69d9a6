#include "nlpc/tasks/options.h"

#include "nlpc/core/error.h"

namespace nlpc {

io::TableReader open_predict_input(const PredictOptions& opts) {
  if (opts.on_error != "fail" && opts.on_error != "skip") throw UsageError("--on-error must be fail or skip");
  io::TableOptions topts;
  topts.format = io::parse_table_format(opts.input_format);
  if (!opts.delimiter.empty()) topts.delimiter = io::parse_delimiter(opts.delimiter);
  topts.allow_ragged = opts.on_error == "skip";
  return io::TableReader(opts.input, topts);
}

}  // namespace nlpc
