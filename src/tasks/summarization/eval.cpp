// `nlpc eval --task summarize`: ROUGE of a T5 folder on text/target pairs, next to the lead baseline.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "nlpc/tasks/summarization/summarizer.h"
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

SummaryEvaluation evaluate_summarizer(Summarizer& sum, const SummarySet& data, const SummaryScoring& how,
                                      runs::Run& run, const std::string& prefix, int64_t step) {
  SummaryEvaluation ev;
  const auto t0 = std::chrono::steady_clock::now();
  ev.predictions = sum.summarize(data.texts, how.generation, how.batch_size, true);
  ev.generate_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ev.model = score_summaries(data.targets, ev.predictions, how.rouge, how.bootstrap, how.ci, how.seed);
  for (const auto& [name, v] : ev.model.metrics.items()) run.log_metric(prefix + name, v, step);
  if (how.with_lead) {
    for (const auto& t : data.texts) ev.lead.push_back(lead_sentence(t));
    ev.lead_scores = score_summaries(data.targets, ev.lead, how.rouge, how.bootstrap, how.ci, how.seed);
    for (const auto& [name, v] : ev.lead_scores.metrics.items()) run.log_metric(prefix + "lead_" + name, v, step);
  }
  write_predictions(run.artifact_path("predictions.jsonl"), data, ev.predictions, how.with_lead ? &ev.lead : nullptr);
  return ev;
}

std::map<std::string, double> evaluate_summarization(const EvalCommandOptions& opts, runs::Run& run) {
  const SummarizeOptions& so = opts.summarize;
  Summarizer sum(opts.model, opts.device, opts.precision);
  if (so.source_prefix) sum.set_source_prefix(*so.source_prefix);
  models::GenerationOptions g = sum.generation();
  apply_overrides(g, so.gen);
  run.log_params(nlohmann::json{{"eval",
                                 {{"task", "summarize"},
                                  {"model", opts.model},
                                  {"data", opts.data},
                                  {"text_column", opts.spec.text_column},
                                  {"target_column", opts.spec.target_column},
                                  {"source_prefix", sum.source_prefix()},
                                  {"stemmer", so.stemmer},
                                  {"lead_baseline", so.lead_baseline},
                                  {"max_rows", opts.spec.max_rows},
                                  {"bootstrap", opts.bootstrap},
                                  {"ci", opts.ci}}},
                                {"generation", generation_params(g)}});
  run.log_param("model.type", "t5");
  SummarySet data = read_summary_set(opts.data, opts.spec);
  run.log_param("data.test_rows", static_cast<int64_t>(data.texts.size()));

  SummaryScoring how;
  how.generation = g;
  how.batch_size = opts.batch_size > 0 ? opts.batch_size : 16;
  how.with_lead = so.lead_baseline;
  how.rouge.use_stemmer = so.stemmer;
  how.bootstrap = opts.bootstrap;
  how.ci = opts.ci;
  how.seed = opts.seed;
  const SummaryEvaluation ev = evaluate_summarizer(sum, data, how, run, "test/", 0);
  const SummaryScores& s = ev.model;
  const SummaryScores& ls = ev.lead_scores;
  const double secs = ev.generate_seconds;
  run.log_metric("test/generate_seconds", secs, 0);
  std::map<std::string, double> aggregate;
  for (const auto& [name, v] : s.metrics.items()) aggregate[name] = v;
  for (const auto& [name, v] : ls.metrics.items()) aggregate["lead_" + name] = v;
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

  return aggregate;
}

}  // namespace nlpc
