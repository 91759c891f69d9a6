// `nlpc eval --task asr`: WER/CER of a Whisper folder on a manifest of recordings, with bootstrap
// intervals, transcripts.csv and asr_scores.json in the run's artifacts.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/tasks/asr/asr.h"
#include "nlpc/tasks/asr/transcriber.h"
#include "nlpc/eval/bootstrap.h"
#include "nlpc/runs/report.h"
#include "nlpc/runs/run.h"

namespace nlpc {

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

namespace {
void print_asr_table(const runs::Run& run, const AsrScoreSettings& opts, size_t recordings,
                     const eval::AsrScores& scores, const eval::MetricSet& metrics,
                     const std::vector<eval::MetricInterval>& intervals) {
  std::printf("run %s (%s) in %s\n", run.id().c_str(), run.name().c_str(), run.dir().c_str());
  std::printf("ASR metrics on %s (%zu recordings, %lld reference words):\n", opts.data.c_str(), recordings,
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
}
}  // namespace

eval::MetricSet score_asr_model(const AsrScoreSettings& opts, runs::Run& run, const std::string& prefix, int64_t step) {
  AsrManifest m = read_asr_manifest(opts.data, opts.audio_column, opts.text_column, opts.format);
  auto topts = scoring_options(opts.model, opts.device, opts.precision);
  topts.language = opts.language;
  WhisperTranscriber tr(topts);
  if (prefix == "test/" && step == 0) run.log_param("model.type", "whisper");
  const std::vector<std::string> hyps = transcribe_manifest(tr, m, "transcribe");
  eval::NormalizeOptions norm;
  norm.lowercase = norm.strip_punctuation = opts.normalize;
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
  write_manifest_rows(run.artifact_path("transcripts.csv"), "csv", cols, rows);
  nlohmann::json j = nlohmann::json::parse(metrics.to_json());
  j["normalized"] = opts.normalize;
  if (!intervals.empty()) {
    j["intervals"] = nlohmann::json::object();
    for (const auto& iv : intervals) {
      j["intervals"][iv.name] = {{"lower", iv.lower}, {"upper", iv.upper}, {"resamples", iv.resamples}, {"ci", opts.ci}};
    }
  }
  write_file_atomic(run.artifact_path("asr_scores.json"), j.dump(2) + "\n");
  write_run_charts(run.dir());
  if (!opts.metrics_output.empty()) write_file_atomic(opts.metrics_output, metrics.to_json() + "\n");

  print_asr_table(run, opts, m.rows.size(), scores, metrics, intervals);
  eval::MetricSet out;
  out.set("wer", metrics.get("wer"));
  out.set("cer", metrics.get("cer"));
  return out;
}


std::map<std::string, double> evaluate_asr(const EvalCommandOptions& opts, runs::Run& run) {
  log_eval_params(run, opts);
  run.log_param("eval.task", "asr");
  AsrScoreSettings s;
  s.model = opts.model;
  s.data = opts.data;
  s.format = opts.spec.format;
  s.audio_column = opts.spec.audio_column;
  s.text_column = opts.spec.text_column;
  s.language = opts.language;
  s.device = opts.device;
  s.precision = opts.precision;
  s.normalize = opts.asr_normalize;
  s.bootstrap = opts.bootstrap;
  s.ci = opts.ci;
  s.seed = opts.seed;
  s.metrics_output = opts.metrics_output;
  std::map<std::string, double> aggregate;
  const eval::MetricSet scored = score_asr_model(s, run);
  for (const auto& [name, v] : scored.items()) aggregate[name] = v;
  return aggregate;
}

}  // namespace nlpc
