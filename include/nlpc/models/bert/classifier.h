#pragma once
// Sequence classifiers over BERT-family encoders: the public API the trainer, eval, predict and
// serve use.
//
//   auto model = nlpc::models::load_classifier("runs/x/model", nlpc::resolve_device("cpu"));
//   model->eval();
//   torch::InferenceMode guard;
//   torch::Tensor logits = model->forward(input_ids, attention_mask, token_type_ids);  // [batch, labels]
//
//   // fine-tuning a pretrained encoder folder (bert-base-uncased, a TinyBERT...) with a new head:
//   ClassifierOptions opt;
//   opt.labels = {"neg", "pos"};
//   auto model = load_classifier("models/bert-mini", device, opt);
//   torch::Tensor loss = model->loss(model->forward(ids, mask, types), labels);
//   ...
//   save_classifier(*model, "runs/x/model", /*tokenizer_dir=*/"models/bert-mini");
//
//   // from scratch: torch::manual_seed(seed); create_classifier(load_model_config("configs/models/bert-mini.json"), opt, device)
//
// Heads and their checkpoint keys:
// - kind "hf", BERT:       bert.pooler.dense (part of the encoder) -> dropout -> classifier.{weight,bias}
//                          (HF BertForSequenceClassification; dropout = classifier_dropout or hidden_dropout_prob)
// - kind "hf", DistilBERT: hidden[:, 0] -> pre_classifier -> ReLU -> dropout(seq_classif_dropout)
//                          -> classifier (HF DistilBertForSequenceClassification)
// - kind "mlp" (nlpc's):   pooling (cls: hidden[:, 0]; mean: masked mean over tokens) -> for each hidden
//                          size i: dropout -> nlpc_head.hidden.<i> (Linear) -> activation; then dropout ->
//                          nlpc_head.output (Linear) -> logits. Encoder keys stay HF's ("bert.*"), the
//                          folder's config.json has architectures ["BertModel"] (or DistilBertModel) and an
//                          "nlpc_head" object {hidden_sizes, pooling, activation, dropout, freeze_encoder},
//                          so transformers' AutoModel loads the encoder and ignores the head.
#include <optional>
#include <unordered_map>
#include <utility>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "nlpc/models/bert/config.h"
#include "nlpc/models/bert/encoder.h"

namespace nlpc::models {

enum class ProblemType { kSingleLabel, kMultiLabel, kRegression };
// "single_label_classification", "multi_label_classification", "regression" (HF's names).
std::string problem_type_name(ProblemType p);
ProblemType parse_problem_type(const std::string& s);  // UsageError on other names

struct HeadOptions {
  std::string kind = "hf";            // "hf" | "mlp"
  std::vector<int64_t> hidden_sizes;  // mlp: e.g. {30}; empty = linear probe
  std::string pooling = "cls";        // mlp: "cls" | "mean"
  std::string activation = "relu";    // mlp: any HF activation name (see layers.h)
  double dropout = 0.1;               // mlp: dropout before every Linear of the head
  bool freeze_encoder = false;        // encoder weights get no gradients and always run in eval mode
};

struct ClassifierOptions {
  std::vector<std::string> labels;  // class names, index = class id; regression: one name per output
  ProblemType problem_type = ProblemType::kSingleLabel;
  HeadOptions head;
};

struct ClassifierOutput {
  torch::Tensor logits;                       // [batch, num_labels]
  std::vector<torch::Tensor> hidden_states;   // num_layers + 1 tensors [batch, seq, hidden] when asked
};

class SequenceClassifier : public torch::nn::Module {
 public:
  // Builds the modules (random values: call init_weights() or load weights). InputError for a bad
  // config (unknown activation...), UsageError for bad options (no labels, unknown pooling...).
  SequenceClassifier(ModelConfig config, ClassifierOptions options);

  // input_ids: [batch, seq] int64; attention_mask: [batch, seq] (1 token / 0 padding) or undefined;
  // token_type_ids: [batch, seq] int64 or undefined (zeros) -> logits [batch, num_labels]
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                        const torch::Tensor& token_type_ids = {});
  ClassifierOutput forward_full(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                const torch::Tensor& token_type_ids, bool want_hidden_states);

  // HF's loss for the problem type: single-label: cross entropy, labels int64 [batch];
  // multi-label: BCE with logits, labels float [batch, num_labels] (0/1); regression: MSE, labels
  // float [batch] (one output) or [batch, num_labels].
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& labels) const;

  void train(bool on = true) override;  // a frozen encoder stays in eval mode
  // With a frozen encoder, what enters the trainable head depends on the input alone: with the
  // cache on, forward() keeps it for every distinct input (keyed by a 128-bit hash of the token
  // ids and type ids up to the attention mask's length), so that later epochs and evaluations run
  // the head alone. Off by default; no effect without freeze_encoder. Memory: hidden size x 4
  // bytes per distinct input.
  void cache_frozen_features(bool on);
  int64_t cached_inputs() const { return static_cast<int64_t>(cache_index_.size()); }
  void init_weights();                  // HF initialisation of encoder and head
  std::vector<torch::Tensor> encoder_parameters();
  std::vector<torch::Tensor> head_parameters();  // everything outside the encoder

  Encoder& encoder() { return *encoder_; }
  const ModelConfig& config() const { return config_; }
  const ClassifierOptions& options() const { return options_; }
  int64_t num_labels() const { return static_cast<int64_t>(options_.labels.size()); }
  // Config for saving: architectures, id2label/label2id, problem_type, nlpc_head.
  ModelConfig export_config() const;

 private:
  torch::Tensor pool(const torch::Tensor& hidden, const torch::Tensor& attention_mask) const;
  // The encoder's part of the head's input ([batch, hidden]): the pooled output (BERT hf head),
  // the first token (DistilBERT hf head) or the pooling of the mlp head.
  torch::Tensor head_input(const EncoderOutput& enc, const torch::Tensor& attention_mask) const;
  torch::Tensor head_forward(torch::Tensor x) const;  // -> logits
  torch::Tensor cached_head_input(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                  const torch::Tensor& token_type_ids);
  struct KeyHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& k) const { return size_t(k.first ^ (k.second << 1)); }
  };
  bool cache_on_ = false;
  std::unordered_map<std::pair<uint64_t, uint64_t>, int64_t, KeyHash> cache_index_;  // key -> row
  std::vector<float> cache_rows_;  // [rows x hidden]
  ModelConfig config_;
  ClassifierOptions options_;
  std::shared_ptr<Encoder> encoder_;
  torch::nn::Linear pre_classifier_{nullptr}, classifier_{nullptr};  // hf heads
  std::vector<torch::nn::Linear> mlp_hidden_;                         // mlp head
  torch::nn::Linear mlp_output_{nullptr};
  std::function<torch::Tensor(const torch::Tensor&)> mlp_act_;
  double head_dropout_ = 0.1;
};

// A new classifier with HF random initialisation (seed with torch::manual_seed first).
std::shared_ptr<SequenceClassifier> create_classifier(const ModelConfig& config, const ClassifierOptions& options,
                                                      c10::Device device = c10::Device(c10::kCPU));

// Loads a HF model folder (config.json + model.safetensors / shards / pytorch_model.bin).
// - options absent: the folder must hold a sequence classifier (id2label; problem_type, default
//   single-label, or regression for one label; "nlpc_head" selects the MLP head); loaded strictly.
// - options given (start fine-tuning): encoder weights are loaded strictly from the folder (keys
//   with or without the "bert."/"distilbert." prefix, old gamma/beta names accepted; a missing
//   BERT pooler is initialised fresh with a warning, as HF does); head weights are loaded when the
//   folder has a head of the same kind and shapes, else initialised fresh; pre-training heads
//   (cls.*, vocab_*, lm_head, fit_dense) and other classification heads are ignored; one log line
//   lists what was ignored and newly initialised; any other key is an error (docs/models.md).
// Both: key fix-ups of models/hf_keys.h first (gamma/beta, position_ids, base-model prefix).
// precision (inference only): "auto" runs the weights as stored (float, or int8 folders written by
// `nlpc models quantize`), "fp32" dequantizes int8 folders, "int8" quantizes the encoder's Linear
// layers after loading (nlpc/models/layers/int8.h). Fine-tuning (options given) starts from float
// weights: an int8 folder is dequantized.
std::shared_ptr<SequenceClassifier> load_classifier(const std::string& dir, c10::Device device,
                                                    const std::optional<ClassifierOptions>& options = std::nullopt,
                                                    torch::Dtype dtype = torch::kFloat,
                                                    const std::string& precision = "auto");

// Writes <dir>/config.json and <dir>/model.safetensors (atomically) and copies the tokenizer files
// found in `tokenizer_dir` (tokenizer.json, tokenizer_config.json, vocab.txt, special_tokens_map.json,
// vocab.json, merges.txt, spiece.model, sentencepiece.bpe.model, added_tokens.json) when given.
void save_classifier(SequenceClassifier& model, const std::string& dir, const std::string& tokenizer_dir = "");

}  // namespace nlpc::models
