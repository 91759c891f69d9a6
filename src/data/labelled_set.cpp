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

LabelledRows::LabelledRows(const std::string& path, const DataSpec& spec, size_t buffer_size)
    : path_(path),
      rows_(path, spec.format, spec.delimiter, spec.text_column, spec.empty_text, spec.max_rows, buffer_size),
      spec_(spec),
      label_col_(rows_.reader().column_index(spec.label_column)),
      pair_col_(spec.pair_column.empty() ? -1 : static_cast<int64_t>(rows_.reader().column_index(spec.pair_column))) {}

bool LabelledRows::next() {
  while (rows_.next(rec_, text_)) {
    const std::string& cell = rec_.fields[label_col_];
    if (is_blank(cell) && spec_.multilabel) {
      // An empty label cell in multi-label data means "not annotated" (e.g. untagged Debian packages):
      // such rows are skipped and counted, not taught as "no label applies".
      ++skipped_unlabelled_;
      continue;
    }
    if (is_blank(cell)) {
      throw rows_.reader().error_at(
          label_col_, "empty label in column \"" + spec_.label_column + "\": every example needs a label");
    }
    rows_.keep();
    return true;
  }
  return false;
}

void LabelledRows::finish() const {
  if (skipped_unlabelled_ > 0) {
    spdlog::info("{}: skipped {} row(s) without labels in column \"{}\"", path_, skipped_unlabelled_,
                 spec_.label_column);
  }
  rows_.finish();
}

namespace {

// The rows a labelled set keeps, in order: on_row(text, record, label cell, pair cell or null). Returns the
// reader's counts of skipped rows in a LabelledSet without rows; `finish` also checks that a row
// was kept and warns about the skipped ones.
template <typename OnRow>
LabelledSet read_rows(const std::string& path, const DataSpec& spec, bool finish, OnRow on_row) {
  LabelledRows rows(path, spec);
  LabelledSet set;
  set.file = path;
  while (rows.next()) on_row(rows.text(), rows.record(), rows.label(), rows.pair());
  set.skipped_empty = rows.text_rows().skipped_empty();
  set.skipped_lines = rows.text_rows().skipped_lines();
  set.skipped_unlabelled = rows.skipped_unlabelled();
  if (finish) rows.finish();
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

std::vector<std::string> labels_of_cell(const std::string& cell, const DataSpec& spec) {
  if (spec.multilabel) return split_labels(cell, spec.label_separator);
  return {cell};
}

LabelledSummary summarize_labelled_set(const std::string& path, const DataSpec& spec, int64_t chunk_bytes) {
  LabelledSummary sum;
  sum.file = path;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over (text length, label cell) of every kept row
  auto add = [&](const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      h ^= static_cast<unsigned char>(p[i]);
      h *= 1099511628211ULL;
    }
  };
  LabelledRows rows(path, spec);
  sum.chunks.push_back({rows.position(), 0, 0});
  while (rows.next()) {
    const std::string* pair = rows.pair();
    const uint64_t len = rows.text().size() + (pair ? pair->size() : 0);
    add(reinterpret_cast<const char*>(&len), sizeof(len));
    add(rows.label().data(), rows.label().size() + 1);  // with its terminating NUL
    for (auto& l : labels_of_cell(rows.label(), spec)) ++sum.label_counts[l];
    ++sum.num_rows;
    ++sum.chunks.back().rows;
    const io::ReadPosition next = rows.position();
    if (next.offset - sum.chunks.back().start.offset >= chunk_bytes) sum.chunks.push_back({next, sum.num_rows, 0});
  }
  if (sum.chunks.size() > 1 && sum.chunks.back().rows == 0) sum.chunks.pop_back();
  sum.skipped_empty = rows.text_rows().skipped_empty();
  sum.skipped_unlabelled = rows.skipped_unlabelled();
  rows.finish();
  sum.fingerprint = h;
  return sum;
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
  // Multi-label: a label the model does not know is left out of the row's set, as scikit-learn's
  // MultiLabelBinarizer does (rare tags are often missing from the training split); counted and reported.
  int64_t unknown_labels = 0, rows_touched = 0;
  std::string first_unknown;
  for (size_t r = 0; r < set.raw_labels.size(); ++r) {
    if (spec.multilabel) {
      std::vector<int> ids;
      bool touched = false;
      for (const auto& l : split_labels(set.raw_labels[r], spec.label_separator)) {
        auto it = id.find(l);
        if (it == id.end()) {
          if (first_unknown.empty()) first_unknown = "'" + l + "' (line " + std::to_string(set.lines[r]) + ")";
          ++unknown_labels;
          touched = true;
          continue;
        }
        ids.push_back(it->second);
      }
      rows_touched += touched;
      set.label_sets.push_back(std::move(ids));
    } else {
      auto it = id.find(set.raw_labels[r]);
      if (it == id.end()) throw unknown(r, set.raw_labels[r]);
      set.labels.push_back(it->second);
    }
  }
  if (unknown_labels > 0) {
    spdlog::warn("{}: {} label(s) in {} row(s) do not occur in the training data and are left out of their rows' "
                 "label sets (first: {})",
                 set.file, unknown_labels, rows_touched, first_unknown);
  }
}

}  // namespace nlpc
