// Trainer overhead: samples/s of nlpc::train::Trainer against a bare libtorch loop (same model,
// same batches, torch::optim::AdamW + clip_grad_norm_) on a bert-mini-sized Transformer encoder
// (4 layers, hidden 256, 4 heads, FFN 1024). Driven by scripts/bench/train_loop.sh, which also runs
// the same architecture in Python PyTorch eager (scripts/bench/train_loop_ref.py).
//
// A third loop trains nlpc's own BERT (BertForSequenceClassification, HF layout) from a config
// file, as `nlpc train` does, for comparison with scripts/bench/train_loop_ref.py's Python eager BERT.
//
//   bench_train_loop [batch=32] [seq=128] [steps=20] [threads=0 (all)] [bert_config=configs/models/bert-mini.json]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "nlpc/core/system.h"
#include "nlpc/models/bert/classifier.h"
#include "nlpc/models/bert/config.h"
#include "nlpc/train/trainer.h"

namespace {

struct MiniEncoderImpl : torch::nn::Module {
  MiniEncoderImpl() {
    embeddings = register_module("embeddings", torch::nn::Embedding(8000, 256));
    encoder = register_module(
        "encoder", torch::nn::TransformerEncoder(torch::nn::TransformerEncoderOptions(
                       torch::nn::TransformerEncoderLayerOptions(256, 4).dim_feedforward(1024).dropout(0.1), 4)));
    classifier = register_module("classifier", torch::nn::Linear(256, 2));
  }
  torch::Tensor forward(const torch::Tensor& ids) {
    torch::Tensor x = embeddings(ids).transpose(0, 1);  // [seq, batch, 256]
    x = encoder(x);                                     // [seq, batch, 256]
    return classifier(x.mean(0));                       // [batch, 2]
  }
  torch::nn::Embedding embeddings{nullptr};
  torch::nn::TransformerEncoder encoder{nullptr};
  torch::nn::Linear classifier{nullptr};
};
TORCH_MODULE(MiniEncoder);

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t batch = argc > 1 ? std::atoll(argv[1]) : 32;
  const int64_t seq = argc > 2 ? std::atoll(argv[2]) : 128;
  const int64_t steps = argc > 3 ? std::atoll(argv[3]) : 20;
  nlpc::set_num_threads(argc > 4 ? std::atoi(argv[4]) : 0);

  torch::manual_seed(0);
  std::vector<nlpc::train::Example> examples(static_cast<size_t>(batch * steps));
  torch::Tensor ids = torch::randint(5, 8000, {batch * steps, seq}, torch::kInt64);
  for (int64_t i = 0; i < batch * steps; ++i) {
    auto& e = examples[static_cast<size_t>(i)];
    e.ids.assign(ids[i].data_ptr<int64_t>(), ids[i].data_ptr<int64_t>() + seq);
    e.label = i % 2;
  }

  auto bare = [&]() {
    torch::manual_seed(1);
    MiniEncoder model;
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(5e-5).weight_decay(0.01));
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      torch::Tensor x = ids.narrow(0, s * batch, batch);
      torch::Tensor y = torch::arange(s * batch, (s + 1) * batch, torch::kInt64).remainder(2);
      opt.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
      loss.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
      opt.step();
      (void)loss.item<double>();
    }
    return static_cast<double>(batch * steps) / seconds_since(t0);
  };

  // samples/s of one epoch of the Trainer over `examples`
  auto run_trainer = [&](nlpc::train::TrainableModel& m) {
    nlpc::train::TrainerOptions o;
    o.epochs = 1;
    o.batching.batch_size = batch;
    o.adamw.lr = 5e-5;
    o.progress = false;
    nlpc::train::Trainer t(m, examples, o, nlpc::train::TrainerCallbacks{});
    const auto t0 = std::chrono::steady_clock::now();
    t.train();
    return static_cast<double>(batch * steps) / seconds_since(t0);
  };

  auto trainer = [&]() {
    torch::manual_seed(1);
    MiniEncoder model;
    nlpc::train::ModuleModel m(model.ptr(), [model](const nlpc::train::Batch& b) mutable {
      return model->forward(b.input_ids);
    });
    return run_trainer(m);
  };

  const std::string bert_config = argc > 5 ? argv[5] : "configs/models/bert-mini.json";
  auto bert = [&]() {
    torch::manual_seed(1);
    nlpc::models::ClassifierOptions co;
    co.labels = {"a", "b"};
    auto model = nlpc::models::create_classifier(nlpc::models::load_model_config(bert_config), co);
    nlpc::train::ModuleModel m(model, [model](const nlpc::train::Batch& b) {
      return model->forward(b.input_ids, b.attention_mask, b.token_type_ids);
    });
    return run_trainer(m);
  };

  // Alternate to spread machine noise over both; keep the best of two runs each.
  const double b1 = bare(), t1 = trainer(), r1 = bert(), b2 = bare(), t2 = trainer(), r2 = bert();
  const double b = std::max(b1, b2), t = std::max(t1, t2), r = std::max(r1, r2);
  std::printf("threads %d, batch %lld, seq %lld, steps %lld\n", nlpc::num_threads(),
              static_cast<long long>(batch), static_cast<long long>(seq), static_cast<long long>(steps));
  std::printf("bare libtorch loop   %8.1f samples/s\n", b);
  std::printf("nlpc Trainer         %8.1f samples/s  (ratio %.3f)\n", t, t / b);
  std::printf("nlpc BERT + Trainer  %8.1f samples/s  (%s)\n", r, bert_config.c_str());
  return 0;
}
