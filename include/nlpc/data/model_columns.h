#pragma once
// The input columns a model was trained on, recorded in its folder so that `eval`, `predict`,
// `serve` and `bench` read the same columns by default (a flag given on the command line wins).
// Stored in the folder's config.json under "nlpc_columns", with DataSpec's field names:
//   "nlpc_columns": {"text_column": "summary,text", "pair_column": "", "label_column": "section"}
// Hugging Face keeps unknown config.json keys, so the folder still loads there. Folders written
// before this record (or by other tools) have none: every reader then keeps its own defaults.
#include <map>
#include <optional>
#include <set>
#include <string>

#include "nlpc/core/error.h"
#include "nlpc/data/spec.h"

namespace nlpc {

// Field name (text_column, pair_column, label_column, target_column, audio_column) -> value.
using ModelColumns = std::map<std::string, std::string>;

// The columns of `spec` a model of `task` reads (classification, multilabel: text, pair, label;
// summarize: text, target; asr: audio, text = the reference transcript).
ModelColumns columns_of_spec(const DataSpec& spec, const std::string& task);

// Adds "nlpc_columns" to model_dir/config.json (rewritten atomically; other keys unchanged).
void record_model_columns(const std::string& model_dir, const ModelColumns& columns);

// The recorded columns, or nullopt when the folder has none (old folders, other tools).
std::optional<ModelColumns> read_model_columns(const std::string& model_dir);

// Fills each field of `spec` the record names and the command line did not give (`given` holds the
// field names set by flags). Returns a one-line description of what was taken from the model ("" if
// nothing), e.g. "text_column=summary,text label_column=section".
std::string apply_model_columns(const std::string& model_dir, DataSpec& spec, const std::set<std::string>& given);

// One column field of a record, or `fallback` when the record is absent or lacks it.
std::string model_column(const std::optional<ModelColumns>& cols, const std::string& field,
                         const std::string& fallback);

// An InputError about a missing column, with a hint when that column came from the model's record
// (`taken`, as apply_model_columns returns it): which columns the model was trained on and that a
// flag chooses others. Other errors are returned unchanged.
InputError with_model_column_hint(const InputError& e, const std::string& model_dir, const std::string& taken);

// Runs `read` (which opens the data file); a missing-column error gets the hint above.
template <class F>
auto read_with_model_columns(const std::string& model_dir, const std::string& taken, F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const InputError& e) {
    throw with_model_column_hint(e, model_dir, taken);
  }
}

}  // namespace nlpc
