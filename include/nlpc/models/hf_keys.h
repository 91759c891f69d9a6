#pragma once
// What transformers' from_pretrained does to checkpoint keys before loading them (4.x rules), for
// every family: TF-era LayerNorm names, buffers the model recomputes, the base-model prefix, and the
// pre-training heads a fine-tuned model drops. Pure string logic over the key names.
#include <set>
#include <string>
#include <vector>

#include "nlpc/models/checkpoint.h"

namespace nlpc::models {

struct KeyReport {
  int renamed = 0;                     // LayerNorm gamma/beta renamed to weight/bias
  std::vector<std::string> dropped;    // buffers dropped (position_ids)
  std::string prefix_change;           // "" | "added 'bert.'" | "removed 'transformer.'"
};

// Adapts checkpoint keys to a model whose keys are `expected`, with HF base_model_prefix `prefix`
// ("" for none):
//  * "<...>.gamma" / "<...>.beta" -> ".weight" / ".bias" (TF-era BERT uploads);
//  * keys ending in "position_ids" that the model does not have are dropped (old BERT/DistilBERT
//    checkpoints carry the buffer; the model recomputes it);
//  * a base-model checkpoint (no key under "<prefix>.") loaded into a model that has keys there:
//    each key k with "<prefix>.k" expected becomes "<prefix>.k" (BertModel -> BertForSequence-
//    Classification, WhisperModel -> WhisperForConditionalGeneration);
//  * a checkpoint with keys under "<prefix>." loaded into a model without any: the prefix is
//    removed from those keys (T5 saved under "transformer.", BertForSequenceClassification ->
//    BertModel; the head keys then stay unexpected).
StateDict adapt_hf_keys(StateDict weights, const std::string& prefix, const std::set<std::string>& expected,
                        KeyReport* report = nullptr);

// Pre-training / other-task heads that transformers drops, with a warning, when a checkpoint
// initialises a sequence classifier: BERT's cls.predictions.* and cls.seq_relationship.*,
// DistilBERT's vocab_transform/vocab_layer_norm/vocab_projector, lm_head, qa_outputs, and
// TinyBERT's fit_dense(s) distillation projection.
bool is_pretraining_head(const std::string& key);

// "a, b, c (and N more)" for log lines.
std::string key_list(const std::vector<std::string>& keys, size_t max_shown = 8);

}  // namespace nlpc::models
