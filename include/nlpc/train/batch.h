#pragma once
// Training data for libtorch models: already-tokenized examples, length-bucketed batch plans that
// are a pure function of (seed, epoch), and dynamic padding into a Batch of tensors.
//
// Determinism: the order of batches in epoch e depends only on (seed, e, the example lengths), so
// a data position is fully described by (epoch, batch index) and needs no RNG state to resume.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace nlpc::train {

// One tokenized example. Single-label: `label` in [0, num_labels). Multi-label: `targets` holds
// num_labels values in {0, 1} (label stays -1). Seq2seq models (T5) also fill `target_ids`.
struct Example {
  std::vector<int64_t> ids;       // token ids, special tokens included, already truncated
  std::vector<int64_t> type_ids;  // token type (segment) ids; empty means all zeros
  int64_t label = -1;
  std::vector<float> targets;     // multi-label indicator vector, empty for single-label tasks
  std::vector<int64_t> target_ids;  // decoder targets (seq2seq), empty otherwise
};

// A padded batch. All integer tensors are int64 on the device the trainer uses.
struct Batch {
  torch::Tensor input_ids;       // [batch, seq]
  torch::Tensor attention_mask;  // [batch, seq], 1 = token, 0 = padding
  torch::Tensor token_type_ids;  // [batch, seq]
  // Single-label: int64 [batch]. Multi-label: float [batch, num_labels]. Undefined when the
  // examples carry no labels (prediction).
  torch::Tensor labels;
  // Seq2seq only (undefined otherwise): target ids padded with -100, [batch, tgt_seq], and the
  // matching mask. Models shift them right themselves to build decoder inputs, as HF T5 does.
  torch::Tensor target_ids;
  torch::Tensor target_mask;
  std::vector<int64_t> indices;  // positions of the examples in the source vector
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
  int64_t num_tokens = 0;        // real (non-padding) input tokens
  Batch to(const torch::Device& device) const;
};

struct BatchingOptions {
  int64_t batch_size = 32;
  int64_t pad_id = 0;
  // Shuffle examples each epoch (training). When false, batches follow the example order.
  bool shuffle = true;
  // Streamed training data (StreamBatcher, stream.h): examples held in the shuffle buffer.
  int64_t shuffle_buffer = 10000;
  // Length bucketing: inside windows of `bucket_window` batches (after shuffling), examples are
  // sorted by length, cut into batches, then the batch order of the whole epoch is shuffled.
  // 0 or 1 disables bucketing (plain shuffled batches).
  int64_t bucket_window = 100;
  // Pad the sequence length up to a multiple of this (e.g. 8 for tensor cores); 1 = exact.
  int64_t pad_to_multiple = 1;
  bool drop_last = false;
};

// Batches as lists of example indices.
using BatchPlan = std::vector<std::vector<int64_t>>;

class Batcher {
 public:
  // Keeps a pointer to `examples`, which must outlive the Batcher. Throws InputError when the
  // examples are empty or have an empty token list (naming the example index).
  Batcher(const std::vector<Example>* examples, BatchingOptions options, uint64_t seed);

  // The batches of epoch `epoch` (0-based), identical for identical (seed, epoch, examples).
  BatchPlan plan(int64_t epoch) const;
  // Batches for evaluation/prediction: no shuffling, sorted by length when bucketing is on
  // (less padding); `Batch::indices` maps rows back to examples.
  BatchPlan eval_plan() const;
  int64_t batches_per_epoch() const;
  int64_t num_examples() const { return static_cast<int64_t>(examples_->size()); }
  const Example& example(int64_t i) const { return (*examples_)[static_cast<size_t>(i)]; }

  // Pads the examples at `indices` into tensors on the CPU.
  Batch collate(const std::vector<int64_t>& indices) const;
  // A fingerprint of the data (count and lengths) stored with resume state to catch a resume on
  // different data.
  uint64_t data_fingerprint() const;
  const BatchingOptions& options() const { return options_; }

 private:
  const std::vector<Example>* examples_;
  BatchingOptions options_;
  uint64_t seed_;
};

// Pads `examples` into tensors on the CPU; `indices` (one per example) become Batch::indices and
// name the examples in error messages.
Batch collate_examples(const std::vector<const Example*>& examples, const std::vector<int64_t>& indices,
                       const BatchingOptions& options);

// Where training stands in the data: the next batch to consume.
struct DataPosition {
  int64_t epoch = 0;
  int64_t batch = 0;
  bool operator==(const DataPosition& o) const { return epoch == o.epoch && batch == o.batch; }
};

// A deterministic 64-bit RNG seed derived from (seed, stream, index); used for per-epoch orders.
uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t index);

}  // namespace nlpc::train
