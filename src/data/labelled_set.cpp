// Labelled classification data: text (and pair) columns with single labels or label sets.
#include "nlpc/data/labelled_set.h"

#include <algorithm>
#include <map>
#include <set>

#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/io/table.h"

namespace nlpc {
namespace {
std::vector<std::string> split_labels(const std::string& cell, const std::string& sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= cell.size()) {
    size_t p = sep.empty() ? std::string::npos : cell.find(sep, start);
    std::string part = cell.substr(start, p == std::string::npos ? std::string::npos : p - start);
    size_t a = part.find_first_not_of(" \t"), b = part.find_last_not_of(" \t");
    if (a != std::string::npos) out.push_back(part.substr(a, b - a + 1));
    if (p == std::string::npos) break;
    start = p + sep.size();
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

namespace {

// The rows a labelled set keeps, in order: on_row(text, record, label cell, pair cell or null). Returns the
// reader's counts of skipped rows in a LabelledSet without rows; `finish` also checks that a row
// was kept and warns about the skipped ones.
template <typename OnRow>
LabelledSet read_rows(const std::string& path, const DataSpec& spec, bool finish, OnRow on_row) {
  TextRows rows(path, spec.format, spec.delimiter, spec.text_column, spec.empty_text, spec.max_rows);
  io::TableReader& reader = rows.reader();
  const size_t li = reader.column_index(spec.label_column);
  const int64_t pi =
      spec.pair_column.empty() ? -1 : static_cast<int64_t>(reader.column_index(spec.pair_column));
  LabelledSet set;
  set.file = path;
  io::TableRecord rec;
  std::string text;
  while (rows.next(rec, text)) {
    const std::string& label = rec.fields[li];
    if (is_blank(label) && spec.multilabel) {
      // An empty label cell in multi-label data means "not annotated" (e.g. untagged Debian packages):
      // such rows are skipped and counted, not taught as "no label applies".
      ++set.skipped_unlabelled;
      continue;
    }
    if (is_blank(label)) {
      throw reader.error_at(
          li, "empty label in column \"" + spec.label_column + "\": every example needs a label");
    }
    on_row(text, rec, label, pi >= 0 ? &rec.fields[static_cast<size_t>(pi)] : nullptr);
    rows.keep();
  }
  set.skipped_empty = rows.skipped_empty();
  set.skipped_lines = rows.skipped_lines();
  if (!finish) return set;
  if (set.skipped_unlabelled > 0) {
    spdlog::info("{}: skipped {} row(s) without labels in column \"{}\"", path, set.skipped_unlabelled,
                 spec.label_column);
  }
  rows.finish();
  return set;
}

}  // namespace

LabelledSet read_labelled_set(const std::string& path, const DataSpec& spec, bool keep_texts) {
  LabelledSet kept;
  LabelledSet set = read_rows(
      path, spec, true,
      [&](std::string& text, const io::TableRecord& rec, const std::string& label, const std::string* pair) {
        if (keep_texts) {
          kept.texts.push_back(std::move(text));
          if (pair != nullptr) kept.pairs.push_back(*pair);
        }
        kept.raw_labels.push_back(label);
        kept.lines.push_back(rec.line);
      });
  set.texts = std::move(kept.texts);
  set.pairs = std::move(kept.pairs);
  set.raw_labels = std::move(kept.raw_labels);
  set.lines = std::move(kept.lines);
  set.num_rows = static_cast<int64_t>(set.lines.size());
  return set;
}

void scan_labelled_texts(const std::string& path, const DataSpec& spec,
                         const std::function<void(std::string& text)>& fn) {
  read_rows(
      path, spec, false,
      [&](std::string& text, const io::TableRecord&, const std::string&, const std::string*) { fn(text); });
}

std::vector<std::string> collect_labels(const LabelledSet& set, const DataSpec& spec) {
  std::set<std::string> names;
  for (const auto& l : set.raw_labels) {
    if (spec.multilabel) {
      for (auto& s : split_labels(l, spec.label_separator)) names.insert(s);
    } else {
      names.insert(l);
    }
  }
  return {names.begin(), names.end()};
}

void map_labels(LabelledSet& set, const std::vector<std::string>& names, const DataSpec& spec) {
  std::map<std::string, int> id;
  for (size_t i = 0; i < names.size(); ++i) id[names[i]] = static_cast<int>(i);
  auto unknown = [&](size_t row, const std::string& l) {
    std::string known;
    for (size_t i = 0; i < names.size() && i < 20; ++i) known += (i ? ", " : "") + names[i];
    if (names.size() > 20) known += ", ... (" + std::to_string(names.size()) + " in all)";
    return InputError(set.file, set.lines[row], 0,
                      "label '" + l + "' does not occur in the training data (known labels: " + known + ")");
  };
  set.labels.clear();
  set.label_sets.clear();
  for (size_t r = 0; r < set.raw_labels.size(); ++r) {
    if (spec.multilabel) {
      std::vector<int> ids;
      for (const auto& l : split_labels(set.raw_labels[r], spec.label_separator)) {
        auto it = id.find(l);
        if (it == id.end()) throw unknown(r, l);
        ids.push_back(it->second);
      }
      set.label_sets.push_back(std::move(ids));
    } else {
      auto it = id.find(set.raw_labels[r]);
      if (it == id.end()) throw unknown(r, set.raw_labels[r]);
      set.labels.push_back(it->second);
    }
  }
}

}  // namespace nlpc
