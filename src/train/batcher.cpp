#include "nlpc/train/batch.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "nlpc/core/error.h"
#include "shuffle.h"

namespace nlpc::train {
namespace {

int64_t round_up(int64_t n, int64_t multiple) {
  if (multiple <= 1) return n;
  return (n + multiple - 1) / multiple * multiple;
}

constexpr uint64_t kStreamOrder = 1;
constexpr uint64_t kStreamBatches = 2;

}  // namespace

uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  // splitmix64 over the three words: well mixed, cheap, and fully specified.
  auto mix = [](uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(seed) ^ stream) ^ index);
}

Batch Batch::to(const torch::Device& device) const {
  Batch b = *this;
  auto move = [&](torch::Tensor& t) {
    if (t.defined()) t = t.to(device, /*non_blocking=*/true);
  };
  move(b.input_ids);
  move(b.attention_mask);
  move(b.token_type_ids);
  move(b.labels);
  move(b.target_ids);
  move(b.target_mask);
  return b;
}

Batcher::Batcher(const std::vector<Example>* examples, BatchingOptions options, uint64_t seed)
    : examples_(examples), options_(options), seed_(seed) {
  if (examples_ == nullptr || examples_->empty()) {
    throw InputError("no examples to batch: the data set is empty after reading and tokenizing");
  }
  if (options_.batch_size <= 0) {
    throw UsageError("batch size must be positive, got " + std::to_string(options_.batch_size));
  }
  for (size_t i = 0; i < examples_->size(); ++i) {
    const Example& e = (*examples_)[i];
    if (e.ids.empty()) {
      throw InputError("example " + std::to_string(i) +
                       " has no tokens; drop empty texts before batching (or count them as skipped)");
    }
    if (!e.type_ids.empty() && e.type_ids.size() != e.ids.size()) {
      throw InputError("example " + std::to_string(i) + " has " + std::to_string(e.ids.size()) +
                       " token ids but " + std::to_string(e.type_ids.size()) + " token type ids");
    }
  }
}

int64_t Batcher::batches_per_epoch() const {
  const int64_t n = num_examples();
  const int64_t bs = options_.batch_size;
  return options_.drop_last ? std::max<int64_t>(1, n / bs) : (n + bs - 1) / bs;
}

BatchPlan Batcher::plan(int64_t epoch) const {
  const int64_t n = num_examples();
  const int64_t bs = options_.batch_size;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const bool bucketing = options_.shuffle && options_.bucket_window > 1;
  if (options_.shuffle) {
    std::mt19937_64 rng(derive_seed(seed_, kStreamOrder, static_cast<uint64_t>(epoch)));
    fisher_yates(order, rng);
  }
  if (bucketing) {
    const int64_t window = options_.bucket_window * bs;
    for (int64_t start = 0; start < n; start += window) {
      const int64_t end = std::min(n, start + window);
      std::stable_sort(order.begin() + start, order.begin() + end, [&](int64_t a, int64_t b) {
        return (*examples_)[a].ids.size() < (*examples_)[b].ids.size();
      });
    }
  }
  BatchPlan batches;
  for (int64_t start = 0; start < n; start += bs) {
    const int64_t end = std::min(n, start + bs);
    if (options_.drop_last && end - start < bs && !batches.empty()) break;
    batches.emplace_back(order.begin() + start, order.begin() + end);
  }
  if (bucketing) {
    std::mt19937_64 rng(derive_seed(seed_, kStreamBatches, static_cast<uint64_t>(epoch)));
    fisher_yates(batches, rng);
  }
  return batches;
}

BatchPlan Batcher::eval_plan() const {
  const int64_t n = num_examples();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (options_.bucket_window > 1) {
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return (*examples_)[a].ids.size() < (*examples_)[b].ids.size();
    });
  }
  BatchPlan batches;
  for (int64_t start = 0; start < n; start += options_.batch_size) {
    const int64_t end = std::min(n, start + options_.batch_size);
    batches.emplace_back(order.begin() + start, order.begin() + end);
  }
  return batches;
}

Batch Batcher::collate(const std::vector<int64_t>& indices) const {
  std::vector<const Example*> ex;
  ex.reserve(indices.size());
  for (int64_t i : indices) ex.push_back(&examples_->at(static_cast<size_t>(i)));
  return collate_examples(ex, indices, options_);
}

Batch collate_examples(const std::vector<const Example*>& examples, const std::vector<int64_t>& indices,
                       const BatchingOptions& options) {
  if (examples.empty() || examples.size() != indices.size()) {
    throw RuntimeError("internal error: collate() called with no examples or without their indices");
  }
  const int64_t b = static_cast<int64_t>(indices.size());
  int64_t seq = 0;
  int64_t tgt = 0;
  for (const Example* e0 : examples) {
    const Example& e = *e0;
    seq = std::max<int64_t>(seq, static_cast<int64_t>(e.ids.size()));
    tgt = std::max<int64_t>(tgt, static_cast<int64_t>(e.target_ids.size()));
  }
  seq = round_up(seq, options.pad_to_multiple);
  Batch batch;
  batch.indices = indices;
  batch.input_ids = torch::full({b, seq}, options.pad_id, torch::kInt64);
  batch.attention_mask = torch::zeros({b, seq}, torch::kInt64);
  batch.token_type_ids = torch::zeros({b, seq}, torch::kInt64);
  int64_t* ids = batch.input_ids.data_ptr<int64_t>();
  int64_t* mask = batch.attention_mask.data_ptr<int64_t>();
  int64_t* types = batch.token_type_ids.data_ptr<int64_t>();

  const Example& first = *examples[0];
  const bool single = first.label >= 0;
  const bool multi = !first.targets.empty();
  if (single) batch.labels = torch::empty({b}, torch::kInt64);
  if (multi) batch.labels = torch::empty({b, static_cast<int64_t>(first.targets.size())}, torch::kFloat32);
  if (tgt > 0) {
    batch.target_ids = torch::full({b, tgt}, -100, torch::kInt64);
    batch.target_mask = torch::zeros({b, tgt}, torch::kInt64);
  }
  for (int64_t r = 0; r < b; ++r) {
    const Example& e = *examples[static_cast<size_t>(r)];
    const int64_t len = static_cast<int64_t>(e.ids.size());
    std::copy(e.ids.begin(), e.ids.end(), ids + r * seq);
    std::fill(mask + r * seq, mask + r * seq + len, 1);
    if (!e.type_ids.empty()) std::copy(e.type_ids.begin(), e.type_ids.end(), types + r * seq);
    batch.num_tokens += len;
    if ((e.label >= 0) != single || e.targets.empty() == multi ||
        (multi && e.targets.size() != first.targets.size())) {
      throw InputError("example " + std::to_string(indices[r]) +
                       " has a different label kind or label count than example " +
                       std::to_string(indices[0]) + " in the same batch");
    }
    if (single) batch.labels.data_ptr<int64_t>()[r] = e.label;
    if (multi) {
      std::copy(e.targets.begin(), e.targets.end(),
                batch.labels.data_ptr<float>() + r * static_cast<int64_t>(e.targets.size()));
    }
    if (tgt > 0) {
      std::copy(e.target_ids.begin(), e.target_ids.end(), batch.target_ids.data_ptr<int64_t>() + r * tgt);
      std::fill(batch.target_mask.data_ptr<int64_t>() + r * tgt,
                batch.target_mask.data_ptr<int64_t>() + r * tgt + static_cast<int64_t>(e.target_ids.size()), 1);
    }
  }
  return batch;
}

uint64_t Batcher::data_fingerprint() const {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  auto add = [&](uint64_t v) {
    for (int k = 0; k < 8; ++k) {
      h ^= (v >> (8 * k)) & 0xff;
      h *= 1099511628211ULL;
    }
  };
  add(examples_->size());
  for (const Example& e : *examples_) {
    add(e.ids.size());
    add(static_cast<uint64_t>(e.label));
    for (int64_t id : e.ids) add(static_cast<uint64_t>(id));
  }
  return h;
}

}  // namespace nlpc::train
