// Speech in the app layer: manifests, `eval --task asr`, `transcribe --manifest`,
// `predict --asr-model`. See include/nlpc/app/asr.h.
#include "nlpc/app/asr.h"

#include <cstdio>
#include <filesystem>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "nlpc/app/eval.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/eval/bootstrap.h"
#include "nlpc/io/csv.h"
#include "nlpc/io/jsonl.h"
#include "nlpc/io/table.h"
#include "nlpc/models/whisper_transcribe.h"
#include "nlpc/runs/report.h"
#include "nlpc/runs/run.h"

namespace nlpc {
namespace fs = std::filesystem;

namespace {

std::string strip(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string unique_column(const std::vector<std::string>& existing, const std::string& name) {
  for (const auto& c : existing) {
    if (c == name) return "predicted_" + name;
  }
  return name;
}

// Transcription settings for scoring and pipelines: deterministic greedy decoding without
// timestamps (as fine-tuned Whisper models and nlpc-trained ones are used), one window per clip
// for short clips, language detected unless given.
models::TranscribeOptions scoring_options(const std::string& model, const std::string& device) {
  models::TranscribeOptions t;
  t.model = model;
  t.device = device;
  t.timestamps = false;
  t.temperatures = {0.0};
  t.condition_on_previous_text = false;
  t.progress = false;
  return t;
}

std::vector<std::string> transcribe_all(models::WhisperTranscriber& tr, const AsrManifest& m, const std::string& what) {
  std::vector<std::string> hyps;
  hyps.reserve(m.audio.size());
  ProgressBar bar(what, static_cast<int64_t>(m.audio.size()), "files");
  for (size_t i = 0; i < m.audio.size(); ++i) {
    check_interrupted();
    try {
      hyps.push_back(strip(tr.transcribe_file(m.audio[i]).text));
    } catch (const InputError& e) {
      throw InputError(m.file, m.lines[i], static_cast<int64_t>(m.audio_index) + 1,
                       "audio file " + m.audio[i] + ": " + e.what());
    }
    bar.update(static_cast<int64_t>(i + 1));
  }
  bar.finish();
  return hyps;
}

void write_rows(const std::string& path, const std::string& format, const std::vector<std::string>& columns,
                const std::vector<std::vector<std::string>>& rows) {
  if (format == "jsonl") {
    io::JsonlWriter w(path);
    for (const auto& r : rows) {
      nlohmann::ordered_json j;
      for (size_t c = 0; c < columns.size(); ++c) j[columns[c]] = r[c];
      w.write(j);
    }
    w.commit();
    return;
  }
  io::CsvWriterOptions o;
  o.delimiter = format == "tsv" ? '\t' : ',';
  io::CsvWriter w(path, o);
  w.write_row(columns);
  for (const auto& r : rows) w.write_row(r);
  w.commit();
}

std::string output_format_for(const std::string& path, const std::string& requested, const std::string& input_format) {
  if (requested != "auto" && !requested.empty()) return requested;
  if (path == "-") return input_format;
  io::TableFormat f = io::format_from_path(path);
  return f == io::TableFormat::kText ? "csv" : io::table_format_name(f);
}

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
    const std::string cell = strip(rec[m.audio_index]);
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
      if (strip(t).empty()) {
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

eval::MetricSet asr_metrics(const eval::AsrScores& s) {
  eval::MetricSet m;
  m.set("wer", s.wer());
  m.set("cer", s.cer());
  m.set("words", static_cast<double>(s.word_total.ref_length()));
  m.set("substitutions", static_cast<double>(s.word_total.substitutions));
  m.set("deletions", static_cast<double>(s.word_total.deletions));
  m.set("insertions", static_cast<double>(s.word_total.insertions));
  m.set("chars", static_cast<double>(s.char_total.ref_length()));
  m.set("char_errors", static_cast<double>(s.char_total.errors()));
  return m;
}

eval::MetricSet run_asr_eval(const EvalCommandOptions& opts, runs::Run& run, const std::string& prefix, int64_t step) {
  AsrManifest m = read_asr_manifest(opts.data, opts.audio_column, opts.text_column, opts.format);
  auto topts = scoring_options(opts.model, opts.device);
  topts.language = opts.language;
  models::WhisperTranscriber tr(topts);
  if (prefix == "test/" && step == 0) run.log_param("model.type", "whisper");
  const std::vector<std::string> hyps = transcribe_all(tr, m, "transcribe");
  eval::NormalizeOptions norm;
  norm.lowercase = norm.strip_punctuation = opts.asr_normalize;
  const eval::AsrScores scores = eval::score_transcripts(m.texts, hyps, &norm);
  eval::MetricSet metrics = asr_metrics(scores);

  std::vector<eval::MetricInterval> intervals;
  if (opts.bootstrap > 0) {
    eval::BootstrapOptions bo;
    bo.resamples = opts.bootstrap;
    bo.ci = opts.ci;
    bo.seed = opts.seed;
    intervals = eval::bootstrap(
        static_cast<int64_t>(m.rows.size()),
        [&](const std::vector<int64_t>& rows) {
          eval::EditCounts w, c;
          for (int64_t r : rows) {
            w += scores.words[static_cast<size_t>(r)];
            c += scores.chars[static_cast<size_t>(r)];
          }
          eval::MetricSet s;
          s.set("wer", eval::error_rate(w));
          s.set("cer", eval::error_rate(c));
          return s;
        },
        bo);
  }
  for (const auto& [name, v] : metrics.items()) run.log_metric(prefix + name, v, step);

  // transcripts.csv: one row per recording, worst first is left to the reader (input order kept).
  std::vector<std::string> cols = {"line", "audio", "reference", "transcript", "words", "word_errors", "wer"};
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < m.rows.size(); ++i) {
    const auto& w = scores.words[i];
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.4f", eval::error_rate(w));
    rows.push_back({std::to_string(m.lines[i]), m.rows[i][m.audio_index], m.texts[i], hyps[i],
                    std::to_string(w.ref_length()), std::to_string(w.errors()), buf});
  }
  write_rows(run.artifact_path("transcripts.csv"), "csv", cols, rows);
  nlohmann::json j = nlohmann::json::parse(metrics.to_json());
  j["normalized"] = opts.asr_normalize;
  if (!intervals.empty()) {
    j["intervals"] = nlohmann::json::object();
    for (const auto& iv : intervals) {
      j["intervals"][iv.name] = {{"lower", iv.lower}, {"upper", iv.upper}, {"resamples", iv.resamples}, {"ci", opts.ci}};
    }
  }
  write_file_atomic(run.artifact_path("asr_scores.json"), j.dump(2) + "\n");
  write_run_charts(run.dir());
  if (!opts.metrics_output.empty()) write_file_atomic(opts.metrics_output, metrics.to_json() + "\n");

  std::printf("run %s (%s) in %s\n", run.id().c_str(), run.name().c_str(), run.dir().c_str());
  std::printf("ASR metrics on %s (%zu recordings, %lld reference words):\n", opts.data.c_str(), m.rows.size(),
              static_cast<long long>(scores.word_total.ref_length()));
  if (!intervals.empty()) {
    std::printf("%s", eval::format_intervals(intervals, opts.ci).c_str());
  } else {
    eval::MetricSet rates;
    rates.set("wer", metrics.get("wer"));
    rates.set("cer", metrics.get("cer"));
    std::printf("%s", rates.to_table().c_str());
  }
  std::printf("substitutions %lld, deletions %lld, insertions %lld\n",
              static_cast<long long>(scores.word_total.substitutions),
              static_cast<long long>(scores.word_total.deletions),
              static_cast<long long>(scores.word_total.insertions));
  std::fflush(stdout);
  eval::MetricSet out;
  out.set("wer", metrics.get("wer"));
  out.set("cer", metrics.get("cer"));
  return out;
}

int models::run_transcribe_manifest(const models::TranscribeOptions& opts) {
  AsrManifest m = read_asr_manifest(opts.manifest, opts.audio_column, "");
  models::TranscribeOptions t = opts;
  t.progress = false;
  models::WhisperTranscriber tr(t);
  std::vector<std::string> hyps = transcribe_all(tr, m, "transcribe");
  std::vector<std::string> cols = m.columns;
  cols.push_back(unique_column(m.columns, "transcript"));
  for (size_t i = 0; i < m.rows.size(); ++i) m.rows[i].push_back(hyps[i]);
  const std::string format = output_format_for(opts.output, "auto", m.format);
  write_rows(opts.output, format, cols, m.rows);
  return 0;
}

PredictStats run_predict_speech(const PredictOptions& opts) {
  AsrManifest m = read_asr_manifest(opts.input, opts.audio_column, "", opts.input_format);
  auto topts = scoring_options(opts.asr_model, opts.device);
  topts.language = opts.asr_language;
  models::WhisperTranscriber tr(topts);
  std::vector<std::string> hyps = transcribe_all(tr, m, "transcribe");
  std::vector<std::string> cols = m.columns;
  const std::string transcript_col = unique_column(m.columns, "transcript");
  cols.push_back(transcript_col);
  for (size_t i = 0; i < m.rows.size(); ++i) m.rows[i].push_back(hyps[i]);
  // The transcripts go through the ordinary text path (same batching, same output columns).
  TempFile tmp(".csv");
  write_rows(tmp.path(), "csv", cols, m.rows);
  PredictOptions p = opts;
  p.asr_model.clear();
  p.input = tmp.path();
  p.input_format = "csv";
  p.delimiter.clear();
  p.text_column = transcript_col;
  p.output_format = output_format_for(opts.output, opts.output_format, m.format);
  return run_predict(p);
}

}  // namespace nlpc
