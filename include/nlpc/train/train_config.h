#pragma once
// The configuration of `nlpc train` (and the task/data parts reused by eval and predict).
// Every key, its type, default and meaning is in train_config_schema(); docs/configuration.md is
// generated from it (`nlpc train --list-keys`).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/core/config.h"
#include "nlpc/data/spec.h"
#include "nlpc/models/ngram/linear.h"

namespace nlpc {

const ConfigSchema& train_config_schema();

// The `data` section: the column spec every reader takes, plus the files and the ASR language.
struct DataSection : DataSpec {
  std::string train, valid, test;
  std::string language;  // asr: the <|xx|> of the decoder prompt; empty: the init model's, else en
  int64_t shuffle_buffer = 0;  // > 0: stream the training file through a shuffle buffer this large
  int64_t max_eval_rows = 1000000;  // streamed: valid/test stay in memory up to this many rows
};

// The `model` section; model.ngram.* bind straight to the n-gram baseline's own option structs.
struct ModelSection {
  std::string type = "ngram";
  std::string init = "random";  // "random" or a Hugging Face model folder
  std::string config;           // architecture config.json for random init
  std::string tokenizer;        // tokenizer folder/file (default: the init folder)
  int64_t max_length = 128;
  std::string head = "hf";      // hf | mlp
  std::vector<int64_t> head_hidden{30};
  std::string pooling = "cls";  // cls | mean
  double dropout = -1;          // < 0: the config's value
  bool freeze_encoder = false;
  bool cache_features = true;   // with freeze_encoder: run the encoder once per distinct input
  std::string source_prefix;    // T5: e.g. "summarize: "
  int64_t max_target_length = 64;  // summarize: target tokens
  int64_t vocab_size = 8000;       // summarize from scratch: SentencePiece vocabulary size
  models::NgramFeatureOptions ngram_features;  // model.ngram.* feature keys
  models::NgramTrainOptions ngram_train;       // model.ngram.* solver keys (epochs, lr, seed: train.*)
};

// The `train` section (torch-free; trainer_options() in src/tasks/train_common.cpp maps it onto
// train::TrainerOptions, which holds libtorch types).
struct TrainerSection {
  int64_t epochs = 3;
  int64_t max_steps = 0;
  int64_t batch_size = 32;
  int64_t eval_batch_size = 64;
  int64_t bucket_window = 100;
  double lr = 5e-5;
  double weight_decay = 0.01;
  double warmup_ratio = 0.0;
  int64_t warmup_steps = 0;
  std::string schedule = "linear";
  double grad_clip = 1.0;
  int64_t grad_accum = 1;
  int64_t seed = 42;
  int64_t eval_every = 0;       // steps; 0 = at the end of each epoch
  std::string metric = "accuracy";
  std::string metric_mode = "max";
  int64_t patience = 0;         // 0 = no early stopping
  std::string class_weights = "none";
  std::string device = "cpu";
  int64_t log_every = 1;
  int64_t dist_timeout_s = 300;  // under a launcher: the longest wait for another rank
  int64_t dist_bucket_mb = 25;   // under a launcher: gradient allreduce bucket size
};

struct EvalSection {
  int64_t bootstrap = 0;
  double ci = 0.95;
  int64_t errors = 0;
  int64_t valid_rows = 200;   // summarize: valid rows scored with ROUGE during training (0 = all)
  int64_t num_beams = 1;      // summarize: generation beams
  bool rouge_stemmer = false; // summarize: Porter stemming in ROUGE
};

struct TrainConfig {
  std::string task = "classification";
  DataSection data;
  ModelSection model;
  TrainerSection train;
  EvalSection eval;
  nlohmann::json resolved;  // the resolved nested configuration (defaults filled in)
};

// Reads FILE (may be empty for "only --set"), applies `sets`, validates and converts.
TrainConfig load_train_config(const std::string& file, const std::vector<std::string>& sets);
TrainConfig train_config_from_json(const nlohmann::json& resolved, const std::string& source);

}  // namespace nlpc
