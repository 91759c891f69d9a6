// Speech data: CSV/TSV/JSONL manifests of recordings (audio paths resolved against the manifest's folder).
#include "nlpc/data/manifest.h"

#include <filesystem>

#include "nlpc/core/error.h"
#include "nlpc/core/strings.h"
#include "nlpc/core/log.h"
#include "nlpc/io/table.h"

namespace nlpc {
namespace fs = std::filesystem;
AsrManifest read_asr_manifest(const std::string& path, const std::string& audio_column,
                              const std::string& text_column, const std::string& format) {
  io::TableOptions topts;
  topts.format = io::parse_table_format(format);
  io::TableReader reader(path, topts);
  AsrManifest m;
  m.file = path;
  m.format = io::table_format_name(reader.format());
  m.columns = reader.columns();
  m.audio_index = reader.column_index(audio_column);
  const int64_t text_index = text_column.empty() ? -1 : static_cast<int64_t>(reader.column_index(text_column));
  const fs::path base = fs::path(path).parent_path();
  io::TableRecord rec;
  while (reader.next(rec)) {
    if (rec.size() != m.columns.size()) {
      throw reader.error_at(rec.size(), "expected " + std::to_string(m.columns.size()) + " fields, found " +
                                            std::to_string(rec.size()));
    }
    const std::string cell = trim(rec[m.audio_index]);
    if (cell.empty()) throw reader.error_at(m.audio_index, "empty audio path in column \"" + audio_column + "\"");
    fs::path p(cell);
    if (p.is_relative()) p = base / p;
    if (!fs::is_regular_file(p)) {
      throw reader.error_at(m.audio_index, "row " + std::to_string(rec.number) + ": audio file \"" + cell +
                                               "\" (column \"" + audio_column + "\", resolved to " + p.string() +
                                               ") does not exist");
    }
    if (text_index >= 0) {
      const std::string& t = rec[static_cast<size_t>(text_index)];
      if (trim(t).empty()) {
        throw reader.error_at(static_cast<size_t>(text_index),
                              "empty reference text in column \"" + text_column + "\"");
      }
      m.texts.push_back(t);
    }
    m.audio.push_back(p.string());
    m.lines.push_back(rec.line);
    m.rows.push_back(rec.fields);
  }
  if (m.rows.empty()) throw InputError(path, 0, 0, "no rows: expected a header and one recording per row");
  return m;
}

}  // namespace nlpc
