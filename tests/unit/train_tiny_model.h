#pragma once
// A tiny classifier and a synthetic, separable task for the [train] tests: each example is noise
// tokens in [10, 50) plus one marker token (label + 1) at a random position; the model is a masked
// mean of embeddings -> LayerNorm -> dropout -> linear.
#include <torch/torch.h>

#include <random>
#include <vector>

#include "nlpc/train/trainer.h"

namespace nlpc::test {

struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl(int64_t vocab, int64_t dim, int64_t labels, double dropout) {
    embeddings = register_module("embeddings", torch::nn::Embedding(vocab, dim));
    norm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    drop = register_module("dropout", torch::nn::Dropout(dropout));
    classifier = register_module("classifier", torch::nn::Linear(dim, labels));
  }
  torch::Tensor forward(const train::Batch& b) {
    torch::Tensor x = embeddings(b.input_ids);                        // [batch, seq, dim]
    torch::Tensor m = b.attention_mask.unsqueeze(-1).to(torch::kFloat);  // [batch, seq, 1]
    torch::Tensor pooled = (x * m).sum(1) / m.sum(1);                 // [batch, dim]
    return classifier(drop(norm(pooled)));                            // [batch, labels]
  }
  torch::nn::Embedding embeddings{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Dropout drop{nullptr};
  torch::nn::Linear classifier{nullptr};
};
TORCH_MODULE(TinyNet);

// The model wrapped for the trainer; `init_seed` fixes the initial parameters.
struct TinyModel {
  explicit TinyModel(uint64_t init_seed, double dropout = 0.1, int64_t labels = 3) {
    torch::manual_seed(init_seed);
    net = TinyNet(50, 16, labels, dropout);
    TinyNet n = net;
    model = std::make_unique<train::ModuleModel>(net.ptr(), [n](const train::Batch& b) mutable {
      return n->forward(b);
    });
  }
  TinyNet net{nullptr};
  std::unique_ptr<train::ModuleModel> model;
};

inline std::vector<train::Example> make_examples(int64_t n, uint64_t seed, int64_t labels = 3) {
  std::mt19937_64 rng(seed);
  std::vector<train::Example> out;
  for (int64_t i = 0; i < n; ++i) {
    train::Example e;
    e.label = static_cast<int64_t>(rng() % static_cast<uint64_t>(labels));
    const int64_t len = 3 + static_cast<int64_t>(rng() % 10);
    for (int64_t t = 0; t < len; ++t) e.ids.push_back(10 + static_cast<int64_t>(rng() % 40));
    e.ids[rng() % static_cast<uint64_t>(len)] = e.label + 1;
    out.push_back(std::move(e));
  }
  return out;
}

inline double accuracy(const torch::Tensor& logits, const std::vector<train::Example>& ex) {
  torch::Tensor pred = logits.argmax(1);
  int64_t ok = 0;
  for (size_t i = 0; i < ex.size(); ++i) ok += pred[static_cast<int64_t>(i)].item<int64_t>() == ex[i].label;
  return static_cast<double>(ok) / static_cast<double>(ex.size());
}

// Flattened copy of every parameter, for exact comparisons.
inline torch::Tensor flat_params(train::TrainableModel& m) {
  std::vector<torch::Tensor> v;
  for (const auto& [name, p] : m.named_parameters()) v.push_back(p.detach().flatten().clone());
  return torch::cat(v);
}

}  // namespace nlpc::test
