// `nlpc transcribe`: audio files (or a manifest of recordings) -> transcripts in txt, json, srt or
// vtt, with the Whisper model folder of --model (WhisperTranscriber, src/tasks/asr/transcriber.cpp).
#include "nlpc/commands/transcribe.h"

#include <cstdio>
#include <filesystem>

#include "nlpc/core/error.h"
#include "nlpc/io/row_sink.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/data/text_rows.h"
#include "nlpc/io/transcript.h"
#include "nlpc/tasks/asr/asr.h"

namespace nlpc {
namespace fs = std::filesystem;
namespace {
std::string output_path(const TranscribeOptions& o, const std::string& input) {
  if (o.output == "-") return "-";
  bool dir = o.inputs.size() > 1 || fs::is_directory(o.output) || o.output.back() == '/';
  if (!dir) return o.output;
  fs::create_directories(o.output);
  // <stem>.<format>, or <file name>.<format> when another input has the same stem
  std::string name = fs::path(input).stem().string();
  for (const auto& other : o.inputs) {
    if (other != input && fs::path(other).stem() == fs::path(input).stem()) name = fs::path(input).filename().string();
  }
  return (fs::path(o.output) / (name + "." + o.format)).string();
}

}  // namespace

int run_transcribe(const TranscribeOptions& o) {
  if (!o.manifest.empty()) {
    if (!o.inputs.empty()) throw UsageError("transcribe: give audio files or --manifest, not both");
    return run_transcribe_manifest(o);
  }
  if (o.inputs.empty()) throw UsageError("transcribe: give one or more audio files (or --manifest FILE.csv)");
  io::format_transcript(io::Transcript{}, o.format);  // validates --format before any work
  if (!o.dump_features.empty() && o.inputs.size() > 1) {
    throw UsageError("--dump-features writes one file: give a single audio input");
  }
  if (o.beam_size < 0 || o.max_new_tokens < 0) throw UsageError("--beam-size and --max-new-tokens must be >= 0");
  if (!o.task.empty() && o.task != "transcribe" && o.task != "translate") throw UsageError("--task: expected transcribe or translate");
  if (o.inputs.size() > 1 && o.output != "-" && fs::exists(o.output) && !fs::is_directory(o.output)) {
    throw UsageError("--output " + o.output + ": with several inputs, --output must be a folder");
  }
  WhisperTranscriber transcriber(o);
  for (const auto& input : o.inputs) {
    auto tr = transcriber.transcribe_file(input);
    std::string text = io::format_transcript(tr, o.format);
    std::string path = output_path(o, input);
    if (path == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    } else {
      write_file_atomic(path, text);
      spdlog::info("{} -> {}", input, path);
    }
  }
  return 0;
}

int run_transcribe_manifest(const TranscribeOptions& opts) {
  AsrManifest m = read_asr_manifest(opts.manifest, opts.audio_column, "");
  TranscribeOptions t = opts;
  t.progress = false;
  WhisperTranscriber tr(t);
  std::vector<std::string> hyps = transcribe_manifest(tr, m, "transcribe");
  std::vector<std::string> cols = m.columns;
  cols.push_back(io::unique_column(m.columns, "transcript"));
  for (size_t i = 0; i < m.rows.size(); ++i) m.rows[i].push_back(hyps[i]);
  const std::string format = manifest_output_format(opts.output, "auto", m.format);
  write_manifest_rows(opts.output, format, cols, m.rows);
  return 0;
}

}  // namespace nlpc
