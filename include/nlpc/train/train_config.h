#pragma once
// The configuration of `nlpc train` (and the task/data parts reused by eval and predict).
// Every key, its type, default and meaning is in train_config_schema(); docs/configuration.md is
// generated from it (`nlpc train --list-keys`).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/core/config.h"

namespace nlpc {

const ConfigSchema& train_config_schema();

struct DataConfig {
  std::string train, valid, test;
  std::string format;  // "" = from the extension
  std::string text_column = "text";
  std::string pair_column;
  std::string label_column = "label";
  std::string label_separator = ";";
  std::string target_column = "summary";
  std::string audio_column = "audio";
  std::string language;  // asr: the <|xx|> of the decoder prompt; empty: the init model's, else en
  std::string delimiter = ",";
  std::string empty_text = "skip";  // skip (counted, reported) | fail
  int64_t max_rows = 0;             // 0 = all
};

// Mirrors nlpc::models::NgramFeatureOptions / NgramTrainOptions (see models/ngram_linear.h).
struct NgramConfig {
  bool lowercase = true;
  int word_ngram_min = 1;
  int word_ngram_max = 2;
  int char_ngram_min = 0;
  int char_ngram_max = 5;
  int hash_bits = 22;
  int min_df = 2;
  bool sublinear_tf = true;
  bool use_idf = true;
  double word_weight = 1.0;
  double char_weight = 1.0;
  double l2 = 0.0;
  bool average = true;
  std::string solver = "svm";
  double svm_c = 0.5;
  double svm_tol = 0.1;
  int svm_max_iter = 200;
};

struct ModelConfig {
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
  std::string source_prefix;    // T5: e.g. "summarize: "
  int64_t max_target_length = 64;  // summarize: target tokens
  int64_t vocab_size = 8000;       // summarize from scratch: SentencePiece vocabulary size
  NgramConfig ngram;
};

struct TrainerConfig {
  int64_t epochs = 3;
  int64_t max_steps = 0;
  int64_t batch_size = 32;
  int64_t eval_batch_size = 64;
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
};

struct EvalConfig {
  int64_t bootstrap = 0;
  double ci = 0.95;
  int64_t errors = 0;
  int64_t valid_rows = 200;   // summarize: valid rows scored with ROUGE during training (0 = all)
  int64_t num_beams = 1;      // summarize: generation beams
  bool rouge_stemmer = false; // summarize: Porter stemming in ROUGE
};

struct TrainConfig {
  std::string task = "classification";
  DataConfig data;
  ModelConfig model;
  TrainerConfig train;
  EvalConfig eval;
  nlohmann::json resolved;  // the resolved nested configuration (defaults filled in)
};

// Reads FILE (may be empty for "only --set"), applies `sets`, validates and converts.
TrainConfig load_train_config(const std::string& file, const std::vector<std::string>& sets);
TrainConfig train_config_from_json(const nlohmann::json& resolved, const std::string& source);

}  // namespace nlpc
