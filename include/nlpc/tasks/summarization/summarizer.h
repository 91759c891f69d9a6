#pragma once
// A T5 summarization model folder ready to generate: model, tokenizer, source prefix, input
// length limit and generation_config.json defaults. Shared by train (test scoring), eval and predict.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nlpc/tasks/summarization/summarize.h"
#include "nlpc/models/generation/hf_generate.h"
#include "nlpc/models/t5/t5.h"
#include "nlpc/text/tokenizer.h"

namespace nlpc {

namespace runs {
class Run;
}

class Summarizer {
 public:
  // Loads <dir> (config.json + weights, spiece.model / tokenizer.json, generation_config.json).
  // Throws InputError when the folder is not a T5 model. precision: "auto" (as stored), "fp32" or
  // "int8" (nlpc/models/layers/int8.h).
  Summarizer(const std::string& dir, const std::string& device, const std::string& precision = "auto");

  // Summaries of `texts` (source prefix added, truncated to max_length), in input order; batches of
  // `batch_size` texts of similar length.
  std::vector<std::string> summarize(const std::vector<std::string>& texts, const models::GenerationOptions& g,
                                     size_t batch_size, bool progress = false);

  const models::GenerationOptions& generation() const { return gen_; }
  std::string source_prefix() const { return prefix_; }
  void set_source_prefix(std::string p) { prefix_ = std::move(p); }
  int64_t max_length() const { return max_length_; }
  int64_t num_parameters() const;
  // Writes the weights as loaded (int8 layers included) as one safetensors file (HF T5 names).
  void save_weights(const std::string& file) const;

 private:
  models::T5ForConditionalGeneration model_{nullptr};
  std::unique_ptr<text::Tokenizer> tok_;
  models::GenerationOptions gen_;
  std::string prefix_;
  int64_t max_length_ = 512;
  torch::Device device_ = torch::kCPU;
};

// Applies command-line overrides to generation options (and validates them).
void apply_overrides(models::GenerationOptions& g, const GenerationOverrides& o);

// The source prefix a folder's config.json declares: nlpc_source_prefix, else HF's
// task_specific_params.summarization.prefix, else "".
std::string model_source_prefix(const std::string& dir);

// Writes the folder files that make a T5 folder a summarizer: tokenizer files copied from
// `tokenizer_dir`, tokenizer_config.json model_max_length, generation_config.json and the source
// prefix in config.json. save_t5 must have written config.json first.
void write_summarizer_files(const std::string& dir, const std::string& tokenizer_dir, int64_t max_length,
                            const std::string& source_prefix, const models::GenerationOptions& gen);

// A summarizer scored on text/target pairs: the one scoring path of `nlpc eval --task summarize` and
// of the end of training. Generates (with a progress bar), scores ROUGE with bootstrap intervals,
// and the lead baseline when `with_lead`; logs <prefix><metric> and <prefix>lead_<metric> at `step`
// and writes predictions.jsonl (line, target, summary[, lead]) into the run's artifacts.
struct SummaryEvaluation {
  std::vector<std::string> predictions, lead;
  SummaryScores model, lead_scores;
  double generate_seconds = 0;
};
struct SummaryScoring {
  models::GenerationOptions generation;
  size_t batch_size = 16;
  bool with_lead = false;
  eval::RougeOptions rouge;
  int64_t bootstrap = 0;
  double ci = 0.95;
  uint64_t seed = 0;
};
SummaryEvaluation evaluate_summarizer(Summarizer& sum, const SummarySet& data, const SummaryScoring& how,
                                      runs::Run& run, const std::string& prefix, int64_t step);

}  // namespace nlpc
