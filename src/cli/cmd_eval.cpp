// `nlpc eval`: flags only; the work is in src/commands/eval.cpp and the task's evaluate.
#include "commands.h"
#include "module.h"
#include "nlpc/commands/eval.h"
#include "summarize_options.h"
#include "run_options.h"

namespace nlpc::cli {

void register_eval(CLI::App& app) {
  static EvalCommandOptions o;
  static SummarizeOptions so;
  auto* sub = app.add_subcommand("eval", "Score a model on labelled data: metrics, confidence intervals, errors, gates");
  sub->add_option("-m,--model", o.model, "Model folder (artifacts/model of a run, or a Hugging Face folder)")->required();
  sub->add_option("-d,--data", o.data, "Labelled CSV, TSV or JSONL file (asr: audio path and reference text columns)")->required();
  hidden_alias(sub->add_option("--input-format,--format", o.spec.format, "auto, csv, tsv or jsonl")
                   ->capture_default_str(),
               "--format");
  sub->add_option("--delimiter", o.spec.delimiter, "CSV delimiter (default: , for csv, tab for tsv)");
  sub->add_option("--text-column", o.spec.text_column,
                  "Text column(s), comma-separated ones joined (asr: the reference transcript); default: the "
                  "model's, else text");
  sub->add_option("--pair-column", o.spec.pair_column, "Second text column (sentence pairs); default: the model's");
  sub->add_option("--label-column", o.spec.label_column, "Label column; default: the model's, else label");
  sub->add_option("--label-separator", o.spec.label_separator, "Separator of labels (multi-label)")->capture_default_str();
  sub->add_option("--empty-text", o.spec.empty_text, "Rows with an empty text: skip (counted) or fail")
      ->capture_default_str()->check(CLI::IsMember({"skip", "fail"}));
  sub->add_option("--bootstrap", o.bootstrap, "Bootstrap resamples for percentile confidence intervals (0 = none)")
      ->capture_default_str();
  sub->add_option("--ci", o.ci, "Confidence level")->capture_default_str();
  auto* seed = sub->add_option("--seed", o.seed, "Seed of the bootstrap (summarize: also of sampling)")
                   ->capture_default_str();
  sub->add_option("--errors", o.errors, "Write the N most confident mistakes per class to errors.csv")
      ->capture_default_str();
  sub->add_option("--errors-output", o.errors_output, "Also copy errors.csv to this path");
  sub->add_option("--gate", o.gates, "Fail (exit 3) unless METRIC OP VALUE holds, e.g. \"accuracy>=0.80\" (repeatable)");
  sub->add_option("--baseline", o.baseline, "Run id/prefix/folder or metrics JSON file to compare with");
  sub->add_option("--max-drop", o.max_drop, "Largest allowed drop of any metric against --baseline")
      ->capture_default_str();
  sub->add_option("--batch-size", o.batch_size, "Texts per batch (default: the model's)");
  sub->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--precision", o.precision,
                 "auto (as the model folder stores it), fp32, or int8: dynamic quantization of the "
                 "Transformer layers on the CPU (docs/int8.md)")
      ->check(CLI::IsMember({"auto", "fp32", "int8"}))
      ->capture_default_str();
  hidden_alias(sub->add_option("--json,--metrics-output", o.metrics_output, "Also write the metrics as JSON to this file"),
               "--metrics-output");
  sub->add_option("--audio-column", o.spec.audio_column,
                  "asr: audio path column (relative to the data file's folder); default: the model's, else audio");
  sub->add_option("--language", o.language,
                  "asr: language code or name for decoding, or auto; default: the model's generation_config.json "
                  "language, else auto");
  sub->add_flag("--no-normalize{false}", o.asr_normalize,
                "asr: score raw text (default: lower-case, punctuation removed, spaces collapsed)");
  add_run_options(sub, o.run);
  add_task_option(sub, o.task, so, /*with_asr=*/true);
  sub->add_option("--target-column", o.spec.target_column,
                  "summarize: reference summary column; default: the model's, else summary");
  sub->add_flag("--lead-baseline", so.lead_baseline, "summarize: also score the first sentence of the text");
  sub->add_option("--max-rows", o.spec.max_rows, "summarize: score only the first N rows (0 = all)");
  sub->add_option("--empty-target", o.spec.empty_target, "summarize: rows with an empty target: fail or skip")
      ->capture_default_str()->check(CLI::IsMember({"fail", "skip"}));
  sub->add_flag("--stemmer", so.stemmer, "summarize: Porter stemming in ROUGE (English only)");
  add_generation_options(sub, so, true, false);
  on_run(sub, [sub, seed] {
    o.columns_given = columns_given(sub);
    o.run.command_line = globals().command_line;
    if (seed->count() > 0) so.gen.seed = o.seed;  // summarize: also the seed of sampling
    o.summarize = so;
    return torch_module().run_eval(o);
  });
}

}  // namespace nlpc::cli
