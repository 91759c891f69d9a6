// `nlpc predict`: flags only; the work is in src/commands/predict.cpp and the task's predict.
#include <cstdio>

#include "commands.h"
#include "module.h"
#include "nlpc/commands/predict.h"
#include "summarize_options.h"

namespace nlpc::cli {

void register_predict(CLI::App& app) {
  static PredictOptions o;
  static SummarizeOptions so;
  static std::string so_task = "classification";
  auto* sub = app.add_subcommand("predict", "Batch prediction over CSV/TSV/JSONL/text, streaming, constant memory");
  sub->add_option("-m,--model", o.model, "Model folder")->required();
  sub->add_option("-i,--input", o.input, "Input file, or - for standard input")->capture_default_str();
  sub->add_option("-o,--output", o.output, "Output file, or - for standard output (written to a temporary "
                                            "file renamed at the end)")->capture_default_str();
  sub->add_option("--input-format", o.input_format, "auto, csv, tsv, jsonl or txt")->capture_default_str();
  sub->add_option("--output-format", o.output_format, "auto (from --output, else the input's), csv, tsv or jsonl")
      ->capture_default_str();
  sub->add_option("--delimiter", o.delimiter, "CSV input delimiter");
  sub->add_option("--text-column", o.text_column,
                  "Text column(s), comma-separated ones joined; default: the model's, else text");
  sub->add_option("--pair-column", o.pair_column, "Second text column (sentence pairs); default: the model's");
  auto* top_labels = sub->add_option("--top-labels", o.top_k, "Also output the K most probable labels (top_labels, "
                                                              "top_scores)")->capture_default_str();
  static int64_t top_k = 0;
  auto* top_k_opt = sub->add_option("--top-k", top_k, "summarize: sample among the K most probable tokens");
  sub->add_flag("--all-probs", o.all_probs, "Output the probability of every label");
  sub->add_option("--threshold", o.threshold, "Multi-label decision threshold (default: the model's tuned ones)");
  sub->add_option("--batch-size", o.batch_size, "Texts per batch (default: the model's)");
  sub->add_option("--window", o.window, "Rows buffered for length batching (default: 64 batches)");
  sub->add_option("--on-error", o.on_error, "Malformed rows: fail, or skip and report them")
      ->capture_default_str()->check(CLI::IsMember({"fail", "skip"}));
  sub->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--precision", o.precision,
                 "auto (as the model folder stores it), fp32, or int8: dynamic quantization of the "
                 "Transformer layers on the CPU (docs/int8.md)")
      ->check(CLI::IsMember({"auto", "fp32", "int8"}))
      ->capture_default_str();
  sub->add_option("--asr-model", o.asr_model, "Whisper folder: transcribe --audio-column into a 'transcript' column "
                                              "and classify the transcript");
  sub->add_option("--audio-column", o.audio_column, "With --asr-model: audio path column (relative to the input's "
                                                    "folder); default: the Whisper model's, else audio");
  hidden_alias(sub->add_option("--language,--asr-language", o.asr_language,
                  "With --asr-model: language code or name, or auto; default: the Whisper model's "
                  "generation_config.json language, else auto"), "--asr-language");
  add_task_option(sub, so_task, so);
  add_generation_options(sub, so, false, true);
  on_run(sub, [sub, top_labels, top_k_opt] {
    o.columns_given = columns_given(sub);
    if (top_k_opt->count() > 0) {
      if (so_task == "summarize") so.gen.top_k = top_k;  // top-k sampling
      // --top-k meant --top-labels for classifiers before it had one meaning: still accepted there
      if (so_task != "summarize" && top_labels->count() == 0) o.top_k = static_cast<int>(top_k);
    }
    o.task = so_task;
    o.summarize = so;
    const PredictStats s = torch_module().run_predict(o);
    torch_module().report_predict_stats(s);
    return 0;
  });
}

}  // namespace nlpc::cli
