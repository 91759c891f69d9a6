#pragma once
// The inference interface shared by `nlpc eval`, `predict`, `serve` and `bench`: a text classifier
// loaded from a model folder, whatever its architecture (the n-gram baseline, BERT, DistilBERT,
// with the Hugging Face or the MLP head). No libtorch in this header.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/eval/matrix.h"

namespace nlpc {

class TextClassifier {
 public:
  virtual ~TextClassifier() = default;
  // Class names in id order (id2label).
  virtual const std::vector<std::string>& labels() const = 0;
  // True for multi-label models (independent sigmoid per label), false for softmax models.
  virtual bool multilabel() const = 0;
  // Probabilities [texts.size() x labels().size()]. `pairs` (may be null) holds second texts.
  // Thread-compatible: callers serialise calls on one instance.
  virtual eval::Matrix predict_proba(const std::vector<std::string>& texts,
                                     const std::vector<std::string>* pairs = nullptr) = 0;
  // Per-label decision thresholds for multi-label models (tuned on valid at training time);
  // empty = 0.5 each.
  virtual std::vector<float> thresholds() const { return {}; }
  // "bert", "distilbert", "nlpc-ngram", ...
  virtual std::string architecture() const = 0;
  // Tokenizer family, or "" when the model has none (n-gram).
  virtual std::string tokenizer_description() const { return ""; }
  virtual int64_t num_parameters() const = 0;
  // Whether sorting a batch by text length speeds it up (padding-based models).
  virtual bool prefers_length_batching() const { return false; }
  virtual size_t default_batch_size() const { return 32; }
  // Writes the model's weights as loaded (int8 layers included) as one safetensors file, under the
  // names its folder loads back (`nlpc models quantize`). UsageError for models without tensors.
  virtual void save_weights(const std::string& file) const;
};

// Loads a model folder written by `nlpc train` (or a Hugging Face sequence-classification folder):
// dispatches on config.json's model_type. Throws InputError naming the folder and what is missing.
// precision: "auto" (as stored), "fp32" or "int8" (BERT family; the n-gram model has one precision
// and ignores it).
std::unique_ptr<TextClassifier> load_text_classifier(const std::string& dir, const std::string& device = "cpu",
                                                     const std::string& precision = "auto");


}  // namespace nlpc
