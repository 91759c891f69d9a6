// Summarization data: text/target pairs.
#include "nlpc/data/summary_set.h"

#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/io/table.h"
#include "nlpc/data/text_rows.h"

namespace nlpc {

SummarySet read_summary_set(const std::string& path, const DataSpec& spec) {
  TextRows rows(path, spec.format, spec.delimiter, spec.text_column, spec.empty_text, spec.max_rows);
  const size_t gi = rows.reader().column_index(spec.target_column);
  SummarySet set;
  set.file = path;
  io::TableRecord rec;
  std::string text;
  while (rows.next(rec, text)) {
    if (is_blank(rec.fields[gi])) {
      if (spec.empty_target == "skip") {
        ++set.skipped_empty_target;
        continue;
      }
      throw rows.reader().error_at(gi, "empty target in column \"" + spec.target_column +
                                           "\": every example needs a reference summary (set data.empty_target / "
                                           "--empty-target to \"skip\" to skip such rows)");
    }
    set.texts.push_back(std::move(text));
    set.targets.push_back(rec.fields[gi]);
    set.lines.push_back(rec.line);
    rows.keep();
  }
  set.skipped_empty = rows.skipped_empty();
  rows.finish();
  if (set.skipped_empty_target > 0) {
    spdlog::warn("{}: skipped {} row(s) with an empty target", path, set.skipped_empty_target);
  }
  return set;
}

}  // namespace nlpc
