// Pieces shared by the speech task's eval, predict and `transcribe --manifest`: scoring
// settings, transcribing a manifest, writing its rows. See include/nlpc/tasks/asr/asr.h.
#include "nlpc/tasks/asr/asr.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/strings.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/io/row_sink.h"
#include "nlpc/io/table.h"
#include "nlpc/tasks/asr/transcriber.h"

namespace nlpc {
namespace fs = std::filesystem;

// Transcription settings for scoring and pipelines: deterministic greedy decoding without
// timestamps (as fine-tuned Whisper models and nlpc-trained ones are used), one window per clip
// for short clips, language detected unless given.
TranscribeOptions scoring_options(const std::string& model, const std::string& device, const std::string& precision) {
  TranscribeOptions t;
  t.model = model;
  t.device = device;
  t.precision = precision;
  t.timestamps = false;
  t.temperatures = {0.0};
  t.condition_on_previous_text = false;
  t.progress = false;
  return t;
}

std::vector<std::string> transcribe_manifest(WhisperTranscriber& tr, const AsrManifest& m, const std::string& what) {
  std::vector<std::string> hyps;
  hyps.reserve(m.audio.size());
  ProgressBar bar(what, static_cast<int64_t>(m.audio.size()), "files");
  for (size_t i = 0; i < m.audio.size(); ++i) {
    check_interrupted();
    try {
      hyps.push_back(trim(tr.transcribe_file(m.audio[i]).text));
    } catch (const InputError& e) {
      throw InputError(m.file, m.lines[i], static_cast<int64_t>(m.audio_index) + 1,
                       "audio file " + m.audio[i] + ": " + e.what());
    }
    bar.update(static_cast<int64_t>(i + 1));
  }
  bar.finish();
  return hyps;
}

void write_manifest_rows(const std::string& path, const std::string& format, const std::vector<std::string>& columns,
                         const std::vector<std::vector<std::string>>& rows) {
  io::RowSink sink(path, io::parse_table_format(format), columns);
  for (const auto& r : rows) sink.write(r);
  sink.commit();
}

std::string manifest_output_format(const std::string& path, const std::string& requested,
                                   const std::string& input_format) {
  return io::table_format_name(io::output_format(path, requested.empty() ? "auto" : requested,
                                                 io::parse_table_format(input_format)));
}

}  // namespace nlpc
