#pragma once
// Flags of `--task summarize` shared by `nlpc eval` and `nlpc predict`: the task switch, the target
// column (eval), and generation overrides of the model's generation_config.json.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "nlpc/tasks/options.h"
#include "nlpc/commands/module_api.h"

namespace nlpc::cli {

// `--task`: classification (also multi-label) or summarize (a T5 model); `with_asr` adds asr (a
// Whisper model, for `nlpc eval`).
inline void add_task_option(CLI::App* app, std::string& task, SummarizeOptions& o, bool with_asr = false) {
  // with_asr: `nlpc eval` (every task has a scorer); else `nlpc predict` (tasks with a batch prediction)
  const std::vector<std::string> tasks = commands::cli_task_names(/*with_predict=*/!with_asr);
  app->add_option("--task", task,
                  with_asr ? "classification (also multi-label), summarize (a T5 model) or asr (--model: a Whisper "
                             "folder, --data: a manifest of recordings; reports WER and CER)"
                           : "classification (also multi-label) or summarize (a T5 model)")
      ->capture_default_str()
      ->check(CLI::IsMember(tasks));
  app->add_option_function<std::string>(
      "--source-prefix", [&o](const std::string& v) { o.source_prefix = v; },
      "summarize: prefix added to each text (default: the model's, e.g. \"summarize: \")");
}

// with_top_k/with_seed false: the command already has a --top-k/--seed flag, which the caller maps.
inline void add_generation_options(CLI::App* app, SummarizeOptions& o, bool with_top_k, bool with_seed) {
  auto& g = o.gen;
  app->add_option_function<int64_t>("--num-beams", [&g](const int64_t& v) { g.num_beams = v; },
                                    "summarize: beam search width (1 = greedy or sampling)");
  app->add_option_function<int64_t>("--max-new-tokens", [&g](const int64_t& v) { g.max_new_tokens = v; },
                                    "summarize: most tokens generated per summary");
  app->add_option_function<int64_t>("--min-length", [&g](const int64_t& v) { g.min_length = v; },
                                    "summarize: eos is banned before this decoder length (start token included)");
  app->add_option_function<double>("--length-penalty", [&g](const double& v) { g.length_penalty = v; },
                                   "summarize: beam score = logprob / length^penalty");
  app->add_option_function<int64_t>("--no-repeat-ngram-size", [&g](const int64_t& v) { g.no_repeat_ngram_size = v; },
                                    "summarize: never repeat an n-gram of this size (0 = off)");
  app->add_flag_function("--do-sample", [&g](int64_t n) { g.do_sample = n > 0; },
                         "summarize: sample instead of greedy/beam search");
  app->add_option_function<double>("--temperature", [&g](const double& v) { g.temperature = v; },
                                   "summarize: sampling temperature");
  if (with_top_k) {
    app->add_option_function<int64_t>("--top-k", [&g](const int64_t& v) { g.top_k = v; },
                                      "summarize: sample among the K most probable tokens");
  }
  app->add_option_function<double>("--top-p", [&g](const double& v) { g.top_p = v; },
                                   "summarize: nucleus sampling mass");
  if (with_seed) {
    app->add_option_function<uint64_t>("--seed", [&g](const uint64_t& v) { g.seed = v; },
                                       "summarize: seed of sampling");
  }
}

}  // namespace nlpc::cli
