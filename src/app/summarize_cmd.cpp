// `nlpc eval --task summarize` and `nlpc predict --task summarize`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "nlpc/app/evaluate.h"
#include "nlpc/app/summarizer.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/eval/gate.h"
#include "nlpc/io/csv.h"
#include "nlpc/io/jsonl.h"
#include "nlpc/io/table.h"
#include "nlpc/runs/report.h"
#include "nlpc/runs/store.h"

namespace nlpc {
namespace {
using io::TableFormat;

nlohmann::json generation_params(const models::GenerationOptions& g) {
  return {{"num_beams", g.num_beams},       {"max_new_tokens", g.max_new_tokens},
          {"max_length", g.max_length},     {"min_length", g.min_length},
          {"length_penalty", g.length_penalty}, {"no_repeat_ngram_size", g.no_repeat_ngram_size},
          {"do_sample", g.do_sample},       {"temperature", g.temperature},
          {"top_k", g.top_k},               {"top_p", g.top_p},
          {"seed", g.seed}};
}

// Writes predictions.jsonl (text, target, summary[, lead]) into the run's artifacts.
void write_predictions(const std::string& path, const SummarySet& data, const std::vector<std::string>& preds,
                       const std::vector<std::string>* lead) {
  io::JsonlWriter w(path);
  for (size_t i = 0; i < preds.size(); ++i) {
    nlohmann::ordered_json j;
    j["line"] = data.lines[i];
    j["target"] = data.targets[i];
    j["summary"] = preds[i];
    if (lead) j["lead"] = (*lead)[i];
    w.write(j);
  }
  w.commit();
}
}  // namespace

int run_eval_summarize(const EvalCommandOptions& opts, const SummarizeOptions& so) {
  std::vector<Gate> gates;
  for (const auto& g : opts.gates) gates.push_back(parse_gate(g));
  if (opts.bootstrap < 0) throw UsageError("--bootstrap must be >= 0");
  if (opts.ci <= 0 || opts.ci >= 1) throw UsageError("--ci must be in (0, 1)");
  if (!opts.baseline.empty()) throw UsageError("--baseline is not supported with --task summarize yet: use --gate");

  runs::Run run = runs::Run::start(opts.run);
  run.set_seed(static_cast<int64_t>(opts.seed));
  run.set_tag("nlpc.command", "eval");
  run.set_tag("nlpc.task", "summarize");
  return runs::record(run, [&]() -> int {
    Summarizer sum(opts.model, opts.device);
    if (so.source_prefix) sum.set_source_prefix(*so.source_prefix);
    models::GenerationOptions g = sum.generation();
    apply_overrides(g, so.gen);
    run.log_params(nlohmann::json{{"eval",
                                   {{"task", "summarize"},
                                    {"model", opts.model},
                                    {"data", opts.data},
                                    {"text_column", opts.text_column},
                                    {"target_column", so.target_column},
                                    {"source_prefix", sum.source_prefix()},
                                    {"stemmer", so.stemmer},
                                    {"lead_baseline", so.lead_baseline},
                                    {"max_rows", so.max_rows},
                                    {"bootstrap", opts.bootstrap},
                                    {"ci", opts.ci}}},
                                  {"generation", generation_params(g)}});
    run.log_param("model.type", "t5");
    SummaryDataSpec spec;
    spec.format = opts.format;
    spec.delimiter = opts.delimiter;
    spec.text_column = opts.text_column;
    spec.target_column = so.target_column;
    spec.empty_text = opts.empty_text;
    spec.max_rows = so.max_rows;
    spec.empty_target = so.empty_target;
    SummarySet data = read_summary_set(opts.data, spec);
    run.log_param("data.test_rows", static_cast<int64_t>(data.texts.size()));

    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::string> preds =
        sum.summarize(data.texts, g, opts.batch_size > 0 ? opts.batch_size : 16, true);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    run.log_metric("test/generate_seconds", secs, 0);

    eval::RougeOptions ro;
    ro.use_stemmer = so.stemmer;
    SummaryScores s = score_summaries(data.targets, preds, ro, opts.bootstrap, opts.ci, opts.seed);
    MetricMap aggregate;
    for (const auto& [name, v] : s.metrics.items()) {
      run.log_metric("test/" + name, v, 0);
      aggregate[name] = v;
    }
    std::vector<std::string> lead;
    SummaryScores ls;
    if (so.lead_baseline) {
      for (const auto& t : data.texts) lead.push_back(lead_sentence(t));
      ls = score_summaries(data.targets, lead, ro, opts.bootstrap, opts.ci, opts.seed);
      for (const auto& [name, v] : ls.metrics.items()) {
        run.log_metric("test/lead_" + name, v, 0);
        aggregate["lead_" + name] = v;
      }
    }
    write_predictions(run.artifact_path("predictions.jsonl"), data, preds, so.lead_baseline ? &lead : nullptr);
    nlohmann::ordered_json mj;
    for (const auto& [k, v] : aggregate) mj[k] = v;
    write_file_atomic(run.artifact_path("metrics.json"), mj.dump(2) + "\n");
    if (!opts.metrics_output.empty()) write_file_atomic(opts.metrics_output, mj.dump(2) + "\n");
    write_run_charts(run.dir());

    std::printf("run %s (%s) in %s\n", run.id().c_str(), run.name().c_str(), run.dir().c_str());
    std::printf("ROUGE F-measures on %s (%zu rows, %.1f s generation)%s:\nmodel:\n%s", opts.data.c_str(),
                data.texts.size(), secs,
                opts.bootstrap > 0 ? (", " + std::to_string(static_cast<int>(opts.ci * 100 + 0.5)) +
                                      " % bootstrap intervals").c_str()
                                   : "",
                format_summary_scores(s).c_str());
    if (so.lead_baseline) std::printf("lead baseline (first sentence of the text):\n%s", format_summary_scores(ls).c_str());
    std::fflush(stdout);

    if (!gates.empty()) {
      GateResult gr = check_gates(aggregate, gates);
      std::printf("gates:\n");
      for (const auto& l : gr.lines) std::printf("  %s\n", l.c_str());
      std::fflush(stdout);
      run.set_tag("nlpc.gate", gr.passed ? "passed" : "failed");
      if (!gr.passed) {
        std::fprintf(stderr, "error: evaluation gate failed\n");
        return kExitGate;
      }
    }
    return 0;
  });
}

PredictStats run_predict_summarize(const PredictOptions& opts, const SummarizeOptions& so) {
  if (opts.on_error != "fail" && opts.on_error != "skip") throw UsageError("--on-error must be fail or skip");
  Summarizer sum(opts.model, opts.device);
  if (so.source_prefix) sum.set_source_prefix(*so.source_prefix);
  models::GenerationOptions g = sum.generation();
  apply_overrides(g, so.gen);

  io::TableOptions topts;
  topts.format = io::parse_table_format(opts.input_format);
  if (!opts.delimiter.empty()) topts.delimiter = io::parse_delimiter(opts.delimiter);
  topts.allow_ragged = opts.on_error == "skip";
  io::TableReader reader(opts.input, topts);
  const auto columns = reader.columns();
  const std::vector<size_t> text_cols = text_column_indices(reader, opts.text_column);

  TableFormat out_format = io::parse_table_format(opts.output_format);
  if (out_format == TableFormat::kAuto) out_format = opts.output != "-" ? io::format_from_path(opts.output) : reader.format();
  if (out_format == TableFormat::kText) out_format = TableFormat::kCsv;
  const std::string summary_col =
      std::find(columns.begin(), columns.end(), "summary") == columns.end() ? "summary" : "predicted_summary";
  std::unique_ptr<io::CsvWriter> csv;
  std::unique_ptr<io::JsonlWriter> jsonl;
  if (out_format == TableFormat::kJsonl) {
    jsonl = std::make_unique<io::JsonlWriter>(opts.output);
  } else {
    io::CsvWriterOptions co;
    co.delimiter = out_format == TableFormat::kTsv ? '\t' : ',';
    csv = std::make_unique<io::CsvWriter>(opts.output, co);
    std::vector<std::string> header = columns;
    header.push_back(summary_col);
    csv->write_row(header);
  }

  const size_t batch = opts.batch_size > 0 ? static_cast<size_t>(opts.batch_size) : 16;
  const size_t window = opts.window > 0 ? static_cast<size_t>(opts.window) : batch * 16;
  PredictStats stats;
  const auto t0 = std::chrono::steady_clock::now();
  ProgressBar bar("summarize", -1, "rows");
  std::vector<io::TableRecord> rows;
  bool done = false;
  while (!done) {
    done = !read_window(reader, columns.size(), window, opts.on_error, stats, rows);
    if (rows.empty()) break;
    check_interrupted();
    std::vector<std::string> texts;
    texts.reserve(rows.size());
    for (const auto& r : rows) texts.push_back(join_text_columns(r.fields, text_cols));
    const std::vector<std::string> out = sum.summarize(texts, g, batch);
    for (size_t r = 0; r < rows.size(); ++r) {
      if (jsonl) {
        nlohmann::ordered_json j;
        for (size_t c = 0; c < columns.size(); ++c) j[columns[c]] = rows[r].fields[c];
        j[summary_col] = out[r];
        jsonl->write(j);
      } else {
        std::vector<std::string> f = rows[r].fields;
        f.push_back(out[r]);
        csv->write_row(f);
      }
    }
    stats.rows += static_cast<int64_t>(rows.size());
    bar.update(stats.rows);
  }
  if (jsonl) jsonl->commit();
  if (csv) csv->commit();
  bar.finish();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace nlpc
