// `nlpc predict --asr-model DIR`: speech -> transcript -> label (see include/nlpc/tasks/asr/asr.h).
#include <filesystem>

#include <unistd.h>

#include "nlpc/core/error.h"
#include "nlpc/io/row_sink.h"
#include "nlpc/core/fs.h"
#include "nlpc/tasks/asr/asr.h"
#include "nlpc/tasks/asr/transcriber.h"
#include "nlpc/tasks/classification/classification.h"

namespace nlpc {
namespace fs = std::filesystem;
namespace {
// A temporary file removed when the object dies.
class TempFile {
 public:
  explicit TempFile(const std::string& suffix) {
    static int counter = 0;
    path_ = (fs::temp_directory_path() /
             ("nlpc-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + suffix)).string();
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

PredictStats predict_speech(const PredictOptions& opts) {
  AsrManifest m = read_asr_manifest(opts.input, opts.audio_column, "", opts.input_format);
  auto topts = scoring_options(opts.asr_model, opts.device, opts.precision);
  topts.language = opts.asr_language;
  WhisperTranscriber tr(topts);
  std::vector<std::string> hyps = transcribe_manifest(tr, m, "transcribe");
  std::vector<std::string> cols = m.columns;
  const std::string transcript_col = io::unique_column(m.columns, "transcript");
  cols.push_back(transcript_col);
  for (size_t i = 0; i < m.rows.size(); ++i) m.rows[i].push_back(hyps[i]);
  // The transcripts go through the ordinary text path (same batching, same output columns).
  TempFile tmp(".csv");
  write_manifest_rows(tmp.path(), "csv", cols, m.rows);
  PredictOptions p = opts;
  p.asr_model.clear();
  p.input = tmp.path();
  p.input_format = "csv";
  p.delimiter.clear();
  p.text_column = transcript_col;
  p.output_format = manifest_output_format(opts.output, opts.output_format, m.format);
  return predict_classification(p);
}

}  // namespace nlpc
