#pragma once
// Speech data: manifests of recordings (CSV/TSV/JSONL, one audio path per row).
#include <cstdint>
#include <string>
#include <vector>

namespace nlpc {

// A manifest read whole: every column kept, audio paths resolved against the manifest's folder
// (absolute paths stay as they are).
struct AsrManifest {
  std::string file;
  std::string format;                           // csv, tsv or jsonl (io::table_format_name)
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;   // fields, in column order
  std::vector<int64_t> lines;                   // line where each row starts
  std::vector<std::string> audio;               // resolved audio path of each row
  std::vector<std::string> texts;               // reference text of each row (empty without text_column)
  size_t audio_index = 0;
};

// Reads `path`; `text_column` may be empty (no references). A missing column, an empty audio
// cell, or an audio file that does not exist is an InputError naming the file, the line, the column
// and the path; an empty reference text is an error too (`what` names the command).
AsrManifest read_asr_manifest(const std::string& path, const std::string& audio_column,
                              const std::string& text_column, const std::string& format = "auto");

}  // namespace nlpc
