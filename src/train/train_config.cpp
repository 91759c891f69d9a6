#include "nlpc/train/train_config.h"

#include <functional>
#include <type_traits>

#include "nlpc/core/error.h"
#include "nlpc/core/log.h"

namespace nlpc {
namespace {
using T = ConfigType;
using nlohmann::json;

// Sets one field of TrainConfig from a resolved value (source names the file, for messages).
using Setter = std::function<void(TrainConfig&, const json&, const std::string& source)>;
struct Binding {
  ConfigKey key;
  Setter set;
};
struct Bindings {
  std::vector<Binding> rows;
  // field: TrainConfig& -> the member the key fills (its type decides the JSON conversion).
  template <typename Field>
  void add(ConfigKey key, Field field) {
    rows.push_back({std::move(key), [field](TrainConfig& c, const json& v, const std::string&) {
                      auto& member = field(c);
                      member = v.get<std::decay_t<decltype(member)>>();
                    }});
  }
  void add_custom(ConfigKey key, Setter set) { rows.push_back({std::move(key), std::move(set)}); }
};

// data.format "" (from the extension) is the readers' "auto".
void set_format(TrainConfig& c, const json& v, const std::string&) {
  const std::string f = v.get<std::string>();
  c.data.format = f.empty() ? "auto" : f;
}

// data.delimiter: one character ("\\t" = tab); the default "," means the format's own delimiter, so
// that a .tsv file keeps its tabs.
void set_delimiter(TrainConfig& c, const json& v, const std::string& source) {
  std::string d = v.get<std::string>();
  if (d == "\\t") d = "\t";
  if (d.size() != 1) throw UsageError(source + ": 'data.delimiter' must be one character");
  c.data.delimiter = d == "," ? "" : d;
}

// The schema rows, each bound to the TrainConfig field it fills: one table per section, in the
// order of `nlpc train --list-keys`; no field is copied by hand.
// task and data.*
void add_task_and_data_keys(Bindings& b) {
  b.add({"task", T::kString, "classification", "what is learned",
         {"classification", "multilabel", "summarize", "asr"}},
        [](TrainConfig& c) -> auto& { return c.task; });
  b.add({"data.train", T::kString, nullptr, "training file (CSV, TSV or JSONL)", {}},
        [](TrainConfig& c) -> auto& { return c.data.train; });
  b.add({"data.valid", T::kString, nullptr, "validation file: evaluation during training, early stopping, "
                                            "multi-label thresholds", {}},
        [](TrainConfig& c) -> auto& { return c.data.valid; });
  b.add({"data.test", T::kString, nullptr, "test file, scored once at the end", {}},
        [](TrainConfig& c) -> auto& { return c.data.test; });
  b.add_custom({"data.format", T::kString, "", "csv | tsv | jsonl; empty = from the file extension", {"", "csv", "tsv", "jsonl"}},
        set_format);
  b.add({"data.text_column", T::kString, "text", "input text column; several separated by commas "
                                                 "(\"summary,text\") are joined with a newline", {}},
        [](TrainConfig& c) -> auto& { return c.data.text_column; });
  b.add({"data.pair_column", T::kString, "", "optional second text (sentence pairs)", {}},
        [](TrainConfig& c) -> auto& { return c.data.pair_column; });
  b.add({"data.label_column", T::kString, "label", "label column (classification, multilabel)", {}},
        [](TrainConfig& c) -> auto& { return c.data.label_column; });
  b.add({"data.label_separator", T::kString, ";", "separator of labels in a multilabel cell", {}},
        [](TrainConfig& c) -> auto& { return c.data.label_separator; });
  b.add({"data.target_column", T::kString, "summary", "target text column (summarize, asr)", {}},
        [](TrainConfig& c) -> auto& { return c.data.target_column; });
  b.add({"data.empty_target", T::kString, "fail", "summarize: rows with an empty target: fail (file, line, column) "
                                                  "or skip (counted and reported)", {"fail", "skip"}},
        [](TrainConfig& c) -> auto& { return c.data.empty_target; });
  b.add({"data.audio_column", T::kString, "audio", "audio path column (asr)", {}},
        [](TrainConfig& c) -> auto& { return c.data.audio_column; });
  b.add({"data.language", T::kString, "", "asr: language of the transcripts, a code or name (pt, Portuguese); "
                                          "empty: the init model's generation_config language, else en", {}},
        [](TrainConfig& c) -> auto& { return c.data.language; });
  b.add_custom({"data.delimiter", T::kString, ",", "CSV delimiter (\\t for tab)", {}},
        set_delimiter);
  b.add({"data.empty_text", T::kString, "skip", "rows with an empty text: skip (counted and reported) or fail",
         {"skip", "fail"}},
        [](TrainConfig& c) -> auto& { return c.data.empty_text; });
  b.add({"data.max_rows", T::kInt, 0, "read at most this many rows per file (0 = all)", {}},
        [](TrainConfig& c) -> auto& { return c.data.max_rows; });
  b.add({"data.shuffle_buffer", T::kInt, 0, "bert/distilbert: > 0 streams the training file (tokenized while "
         "training, bounded memory): its ~1 MiB chunks in a seeded order per epoch, then a seeded shuffle buffer of "
         "this many examples, length-bucketed in windows of train.bucket_window batches; 0 reads it into memory", {}},
        [](TrainConfig& c) -> auto& { return c.data.shuffle_buffer; });
  b.add({"data.max_eval_rows", T::kInt, 1000000, "with data.shuffle_buffer: valid and test files are read into "
         "memory; more rows than this is an error (0 = no limit)", {}},
        [](TrainConfig& c) -> auto& { return c.data.max_eval_rows; });
}

// model.* (architecture, tokenizer, heads)
void add_model_keys(Bindings& b) {
  b.add({"model.type", T::kString, "ngram", "architecture", {"ngram", "bert", "distilbert", "t5", "whisper"}},
        [](TrainConfig& c) -> auto& { return c.model.type; });
  b.add({"model.init", T::kString, "random", "\"random\" or a Hugging Face model folder to fine-tune", {}},
        [](TrainConfig& c) -> auto& { return c.model.init; });
  b.add({"model.config", T::kString, "", "config.json of the architecture for random init "
                                         "(e.g. configs/models/bert-mini.json)", {}},
        [](TrainConfig& c) -> auto& { return c.model.config; });
  b.add({"model.tokenizer", T::kString, "", "tokenizer folder or file (default: the model.init folder)", {}},
        [](TrainConfig& c) -> auto& { return c.model.tokenizer; });
  b.add({"model.max_length", T::kInt, 128, "maximum tokens per input (longer inputs are truncated)", {}},
        [](TrainConfig& c) -> auto& { return c.model.max_length; });
  b.add({"model.head", T::kString, "hf", "hf: the Hugging Face sequence-classification head; "
                                         "mlp: nlpc's MLP head over the pooled encoder", {"hf", "mlp"}},
        [](TrainConfig& c) -> auto& { return c.model.head; });
  b.add({"model.head_hidden", T::kIntList, json::array({30}), "hidden layer sizes of the mlp head", {}},
        [](TrainConfig& c) -> auto& { return c.model.head_hidden; });
  b.add({"model.pooling", T::kString, "cls", "pooling for the mlp head", {"cls", "mean"}},
        [](TrainConfig& c) -> auto& { return c.model.pooling; });
  b.add({"model.dropout", T::kFloat, -1.0, "classifier dropout (< 0: the model config's)", {}},
        [](TrainConfig& c) -> auto& { return c.model.dropout; });
  b.add({"model.freeze_encoder", T::kBool, false, "train only the head (pretrained features + small head)", {}},
        [](TrainConfig& c) -> auto& { return c.model.freeze_encoder; });
  b.add({"model.cache_features", T::kBool, true, "with model.freeze_encoder: compute the encoder's features once "
         "per distinct input (first epoch, first evaluation) and train the head on the cache", {}},
        [](TrainConfig& c) -> auto& { return c.model.cache_features; });
  b.add({"model.source_prefix", T::kString, "", "prefix added to each input (T5, e.g. \"summarize: \")", {}},
        [](TrainConfig& c) -> auto& { return c.model.source_prefix; });
  b.add({"model.max_target_length", T::kInt, 64, "summarize: maximum target tokens (longer targets are truncated; "
                                                  "also max_new_tokens of generation_config.json)", {}},
        [](TrainConfig& c) -> auto& { return c.model.max_target_length; });
  b.add({"model.vocab_size", T::kInt, 8000, "summarize from scratch without model.tokenizer: size of the "
                                            "SentencePiece vocabulary trained on the training texts and targets", {}},
        [](TrainConfig& c) -> auto& { return c.model.vocab_size; });
}

// model.ngram.*: the n-gram baseline's NgramFeatureOptions / NgramTrainOptions
void add_ngram_keys(Bindings& b) {
  b.add({"model.ngram.lowercase", T::kBool, true, "lower-case before extracting n-grams", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.lowercase; });
  b.add({"model.ngram.word_ngram_min", T::kInt, 1, "shortest word n-gram (0 = no word features)", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.word_ngram_min; });
  b.add({"model.ngram.word_ngram_max", T::kInt, 2, "longest word n-gram", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.word_ngram_max; });
  b.add({"model.ngram.char_ngram_min", T::kInt, 0, "shortest character n-gram inside words (0 = none, e.g. 2)", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.char_ngram_min; });
  b.add({"model.ngram.char_ngram_max", T::kInt, 5, "longest character n-gram", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.char_ngram_max; });
  b.add({"model.ngram.hash_bits", T::kInt, 22, "2^hash_bits hashed feature buckets (10..28)", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.hash_bits; });
  b.add({"model.ngram.min_df", T::kInt, 2, "keep features seen in at least this many training texts", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.min_df; });
  b.add({"model.ngram.sublinear_tf", T::kBool, true, "1 + ln(tf) instead of tf", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.sublinear_tf; });
  b.add({"model.ngram.use_idf", T::kBool, true, "TF-IDF weighting (smooth idf)", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.use_idf; });
  b.add({"model.ngram.word_weight", T::kFloat, 1.0, "scale of the word feature group", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.word_weight; });
  b.add({"model.ngram.char_weight", T::kFloat, 1.0, "scale of the character feature group", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_features.char_weight; });
  b.add({"model.ngram.solver", T::kString, "svm", "svm: one-vs-rest squared-hinge linear SVMs (dual coordinate "
         "descent, probabilities calibrated on valid); sgd: softmax/logistic regression by averaged SGD "
         "(uses train.epochs and train.lr)", {"svm", "sgd"}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_train.solver; });
  b.add({"model.ngram.svm_c", T::kFloat, 0.5, "svm: inverse regularisation strength C", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_train.C; });
  b.add({"model.ngram.svm_tol", T::kFloat, 0.1, "svm: stopping tolerance", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_train.tol; });
  b.add({"model.ngram.svm_max_iter", T::kInt, 200, "svm: passes per class", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_train.max_iter; });
  b.add({"model.ngram.l2", T::kFloat, 0.0, "sgd: L2 penalty of the linear model", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_train.l2; });
  b.add({"model.ngram.average", T::kBool, true, "averaged SGD", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_train.average; });
  b.add({"model.ngram.scratch_dir", T::kString, nullptr, "folder of the training matrix (about 4 bytes per "
         "non-zero) and the svm state (4 bytes per row and class) while training, read back block by block "
         "(default: the run folder; the files are unlinked at once)", {}},
        [](TrainConfig& c) -> auto& { return c.model.ngram_train.scratch_dir; });
}

// train.*
void add_train_keys(Bindings& b) {
  b.add({"train.epochs", T::kInt, nullptr, "passes over the training data (default: 5 for ngram, 3 otherwise)", {}},
        [](TrainConfig& c) -> auto& { return c.train.epochs; });
  b.add({"train.max_steps", T::kInt, 0, "stop after this many optimizer steps (0 = epochs decide)", {}},
        [](TrainConfig& c) -> auto& { return c.train.max_steps; });
  b.add({"train.batch_size", T::kInt, 32, "examples per optimizer step (before accumulation)", {}},
        [](TrainConfig& c) -> auto& { return c.train.batch_size; });
  b.add({"train.bucket_window", T::kInt, 100, "length bucketing: training examples are sorted by length inside "
         "windows of this many batches, then the batches are shuffled (1 = plain shuffled batches)", {}},
        [](TrainConfig& c) -> auto& { return c.train.bucket_window; });
  b.add({"train.eval_batch_size", T::kInt, 64, "examples per evaluation batch", {}},
        [](TrainConfig& c) -> auto& { return c.train.eval_batch_size; });
  b.add({"train.lr", T::kFloat, nullptr, "peak learning rate (default: 0.5 for ngram, 5e-5 otherwise)", {}},
        [](TrainConfig& c) -> auto& { return c.train.lr; });
  b.add({"train.weight_decay", T::kFloat, 0.01, "AdamW weight decay (never on biases and LayerNorm)", {}},
        [](TrainConfig& c) -> auto& { return c.train.weight_decay; });
  b.add({"train.warmup_ratio", T::kFloat, 0.0, "fraction of steps of linear warmup", {}},
        [](TrainConfig& c) -> auto& { return c.train.warmup_ratio; });
  b.add({"train.warmup_steps", T::kInt, 0, "steps of linear warmup (overrides warmup_ratio)", {}},
        [](TrainConfig& c) -> auto& { return c.train.warmup_steps; });
  b.add({"train.schedule", T::kString, "linear", "decay after warmup", {"linear", "cosine", "constant"}},
        [](TrainConfig& c) -> auto& { return c.train.schedule; });
  b.add({"train.grad_clip", T::kFloat, 1.0, "gradient max-norm (0 = off)", {}},
        [](TrainConfig& c) -> auto& { return c.train.grad_clip; });
  b.add({"train.grad_accum", T::kInt, 1, "gradient accumulation steps", {}},
        [](TrainConfig& c) -> auto& { return c.train.grad_accum; });
  b.add({"train.seed", T::kInt, 42, "seed of initialisation, shuffling and dropout", {}},
        [](TrainConfig& c) -> auto& { return c.train.seed; });
  b.add({"train.eval_every", T::kInt, 0, "evaluate on valid every N steps (0 = each epoch); classifiers also "
                                          "evaluate at each epoch end, summarize and asr only every N steps", {}},
        [](TrainConfig& c) -> auto& { return c.train.eval_every; });
  b.add({"train.metric", T::kString, nullptr, "validation metric choosing the best checkpoint (default: accuracy; "
                                              "f1_micro for multilabel; rougeL for summarize)", {}},
        [](TrainConfig& c) -> auto& { return c.train.metric; });
  b.add({"train.metric_mode", T::kString, "max", "whether the metric is better higher or lower", {"max", "min"}},
        [](TrainConfig& c) -> auto& { return c.train.metric_mode; });
  b.add({"train.patience", T::kInt, 0, "early stopping after N evaluations without improvement (0 = off)", {}},
        [](TrainConfig& c) -> auto& { return c.train.patience; });
  b.add({"train.class_weights", T::kString, "none", "loss weights per class", {"none", "balanced"}},
        [](TrainConfig& c) -> auto& { return c.train.class_weights; });
  b.add({"train.device", T::kString, "cpu", "cpu, cuda or cuda:N", {}},
        [](TrainConfig& c) -> auto& { return c.train.device; });
  b.add({"train.dist_bucket_mb", T::kInt, 25, "under a launcher: gradients are allreduced in buckets of about this "
         "many MB (DDP's bucket_cap_mb), each started as soon as backward has produced its gradients; the first "
         "bucket holds at most 1 MB", {}},
        [](TrainConfig& c) -> auto& { return c.train.dist_bucket_mb; });
  b.add({"train.dist_timeout_s", T::kInt, 300,
         "under a launcher (torchrun, mpirun, Slurm, env://): seconds a rank waits for the others before failing", {}},
        [](TrainConfig& c) -> auto& { return c.train.dist_timeout_s; });
  b.add({"train.log_every", T::kInt, 1, "log train/loss and train/lr every N steps", {}},
        [](TrainConfig& c) -> auto& { return c.train.log_every; });
}

// eval.*
void add_eval_keys(Bindings& b) {
  b.add({"eval.bootstrap", T::kInt, 0, "bootstrap resamples for confidence intervals on test (0 = off)", {}},
        [](TrainConfig& c) -> auto& { return c.eval.bootstrap; });
  b.add({"eval.ci", T::kFloat, 0.95, "confidence level of the intervals", {}},
        [](TrainConfig& c) -> auto& { return c.eval.ci; });
  b.add({"eval.errors", T::kInt, 0, "write the N most confident mistakes per class", {}},
        [](TrainConfig& c) -> auto& { return c.eval.errors; });
  b.add({"eval.valid_rows", T::kInt, 200, "summarize: ROUGE during training on the first N valid rows "
                                          "(greedy generation; 0 = all); valid/loss always uses every row", {}},
        [](TrainConfig& c) -> auto& { return c.eval.valid_rows; });
  b.add({"eval.num_beams", T::kInt, 1, "summarize: beams of generation (validation, test, generation_config.json)", {}},
        [](TrainConfig& c) -> auto& { return c.eval.num_beams; });
  b.add({"eval.rouge_stemmer", T::kBool, false, "summarize: Porter stemming in ROUGE (English only)", {}},
        [](TrainConfig& c) -> auto& { return c.eval.rouge_stemmer; });
}

std::vector<Binding> build_bindings() {
  Bindings b;
  add_task_and_data_keys(b);
  add_model_keys(b);
  add_ngram_keys(b);
  add_train_keys(b);
  add_eval_keys(b);
  return b.rows;
}

void positive(int64_t v, const char* key, const std::string& source, bool allow_zero = false) {
  if (v < 0 || (!allow_zero && v == 0)) {
    throw UsageError(source + ": '" + key + "' must be " + (allow_zero ? ">= 0" : "> 0") + ", got " +
                     std::to_string(v));
  }
}

const std::vector<Binding>& bindings() {
  static const std::vector<Binding> rows = build_bindings();
  return rows;
}

// "train.lr" -> "/train/lr"
json::json_pointer pointer_of(const std::string& dotted) {
  std::string p = "/" + dotted;
  for (char& ch : p) {
    if (ch == '.') ch = '/';
  }
  return json::json_pointer(p);
}

// Defaults that depend on the model type or the task, written back so that params.json shows
// what was used: train.epochs and train.lr (n-gram vs transformers), train.metric (summarize).
json with_dependent_defaults(const json& r) {
  json out = r;
  const bool ngram = r.value(json::json_pointer("/model/type"), std::string("ngram")) == "ngram";
  const auto absent = [&r](const char* key) { return !r.contains(pointer_of(key)); };
  const bool svm = r.value(json::json_pointer("/model/ngram/solver"), std::string("svm")) == "svm";
  if (ngram && svm && (!absent("train.epochs") || !absent("train.lr"))) {
    spdlog::warn("train.epochs and train.lr are not used by the n-gram SVM solver (model.ngram.solver \"svm\" runs "
                 "up to model.ngram.svm_max_iter passes per class, until model.ngram.svm_tol): set "
                 "model.ngram.solver=sgd to train by epochs");
  }
  if (absent("train.epochs")) out["train"]["epochs"] = ngram ? 5 : 3;
  if (absent("train.lr")) out["train"]["lr"] = ngram ? 0.5 : 5e-5;
  if (absent("train.metric")) {
    const std::string task = r.value("task", std::string());
    out["train"]["metric"] = task == "summarize" ? "rougeL" : task == "multilabel" ? "f1_micro" : "accuracy";
  }
  return out;
}

void validate(const TrainConfig& c, const std::string& source) {
  const auto& t = c.train;
  const auto& m = c.model;
  if (c.data.train.empty()) throw UsageError(source + ": 'data.train' is required (the training file)");
  positive(t.epochs, "train.epochs", source, true);
  positive(t.max_steps, "train.max_steps", source, true);
  if (t.epochs == 0 && t.max_steps == 0) {
    throw UsageError(source + ": set 'train.epochs' or 'train.max_steps' to a positive number");
  }
  positive(t.batch_size, "train.batch_size", source);
  positive(t.eval_batch_size, "train.eval_batch_size", source);
  positive(t.bucket_window, "train.bucket_window", source);
  positive(t.grad_accum, "train.grad_accum", source);
  positive(t.dist_timeout_s, "train.dist_timeout_s", source);
  positive(t.dist_bucket_mb, "train.dist_bucket_mb", source);
  positive(m.max_length, "model.max_length", source);
  positive(m.max_target_length, "model.max_target_length", source);
  positive(c.eval.num_beams, "eval.num_beams", source);
  if (m.vocab_size < 8) throw UsageError(source + ": 'model.vocab_size' must be at least 8");
  if (!(t.lr > 0)) throw UsageError(source + ": 'train.lr' must be > 0");
  if (t.warmup_ratio < 0 || t.warmup_ratio >= 1) throw UsageError(source + ": 'train.warmup_ratio' must be in [0, 1)");
  if (c.eval.ci <= 0 || c.eval.ci >= 1) throw UsageError(source + ": 'eval.ci' must be in (0, 1)");
  if (m.type != "ngram" && m.init == "random" && m.config.empty()) {
    throw UsageError(source + ": model.init is \"random\": set 'model.config' to an architecture config.json "
                              "(e.g. configs/models/bert-mini.json) or 'model.init' to a model folder");
  }
}
}  // namespace

const ConfigSchema& train_config_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s;
    for (const auto& b : bindings()) s.add(b.key);
    return s;
  }();
  return schema;
}

TrainConfig train_config_from_json(const json& r, const std::string& source) {
  TrainConfig c;
  c.resolved = with_dependent_defaults(r);
  for (const auto& b : bindings()) {
    const json::json_pointer ptr = pointer_of(b.key.key);
    if (c.resolved.contains(ptr) && !c.resolved.at(ptr).is_null()) b.set(c, c.resolved.at(ptr), source);
  }
  c.data.multilabel = c.task == "multilabel";
  validate(c, source);
  return c;
}

TrainConfig load_train_config(const std::string& file, const std::vector<std::string>& sets) {
  json file_json = json::object();
  if (!file.empty()) file_json = read_json_file(file);
  const std::string source = file.empty() ? std::string("--set") : file;
  json resolved = train_config_schema().resolve(file_json, sets, source);
  return train_config_from_json(resolved, source);
}

}  // namespace nlpc
