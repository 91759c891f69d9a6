#include "nlpc/train/train_config.h"

#include "nlpc/core/error.h"

namespace nlpc {
namespace {
using T = ConfigType;
using nlohmann::json;

ConfigSchema build_schema() {
  ConfigSchema s;
  s.add({"task", T::kString, "classification", "what is learned",
         {"classification", "multilabel", "summarize", "asr"}});
  // data
  s.add({"data.train", T::kString, nullptr, "training file (CSV, TSV or JSONL)", {}});
  s.add({"data.valid", T::kString, nullptr, "validation file: evaluation during training, early stopping, "
                                            "multi-label thresholds", {}});
  s.add({"data.test", T::kString, nullptr, "test file, scored once at the end", {}});
  s.add({"data.format", T::kString, "", "csv | tsv | jsonl; empty = from the file extension", {"", "csv", "tsv", "jsonl"}});
  s.add({"data.text_column", T::kString, "text", "input text column; several separated by commas "
                                                 "(\"summary,text\") are joined with a newline", {}});
  s.add({"data.pair_column", T::kString, "", "optional second text (sentence pairs)", {}});
  s.add({"data.label_column", T::kString, "label", "label column (classification, multilabel)", {}});
  s.add({"data.label_separator", T::kString, ";", "separator of labels in a multilabel cell", {}});
  s.add({"data.target_column", T::kString, "summary", "target text column (summarize, asr)", {}});
  s.add({"data.empty_target", T::kString, "fail", "summarize: rows with an empty target: fail (file, line, column) "
                                                  "or skip (counted and reported)", {"fail", "skip"}});
  s.add({"data.audio_column", T::kString, "audio", "audio path column (asr)", {}});
  s.add({"data.language", T::kString, "", "asr: language of the transcripts, a code or name (pt, Portuguese); "
                                          "empty: the init model's generation_config language, else en", {}});
  s.add({"data.delimiter", T::kString, ",", "CSV delimiter (\\t for tab)", {}});
  s.add({"data.empty_text", T::kString, "skip", "rows with an empty text: skip (counted and reported) or fail",
         {"skip", "fail"}});
  s.add({"data.max_rows", T::kInt, 0, "read at most this many rows per file (0 = all)", {}});
  // model
  s.add({"model.type", T::kString, "ngram", "architecture", {"ngram", "bert", "distilbert", "t5", "whisper"}});
  s.add({"model.init", T::kString, "random", "\"random\" or a Hugging Face model folder to fine-tune", {}});
  s.add({"model.config", T::kString, "", "config.json of the architecture for random init "
                                         "(e.g. configs/models/bert-mini.json)", {}});
  s.add({"model.tokenizer", T::kString, "", "tokenizer folder or file (default: the model.init folder)", {}});
  s.add({"model.max_length", T::kInt, 128, "maximum tokens per input (longer inputs are truncated)", {}});
  s.add({"model.head", T::kString, "hf", "hf: the Hugging Face sequence-classification head; "
                                         "mlp: nlpc's MLP head over the pooled encoder", {"hf", "mlp"}});
  s.add({"model.head_hidden", T::kIntList, json::array({30}), "hidden layer sizes of the mlp head", {}});
  s.add({"model.pooling", T::kString, "cls", "pooling for the mlp head", {"cls", "mean"}});
  s.add({"model.dropout", T::kFloat, -1.0, "classifier dropout (< 0: the model config's)", {}});
  s.add({"model.freeze_encoder", T::kBool, false, "train only the head (pretrained features + small head)", {}});
  s.add({"model.source_prefix", T::kString, "", "prefix added to each input (T5, e.g. \"summarize: \")", {}});
  s.add({"model.max_target_length", T::kInt, 64, "summarize: maximum target tokens (longer targets are truncated; "
                                                  "also max_new_tokens of generation_config.json)", {}});
  s.add({"model.vocab_size", T::kInt, 8000, "summarize from scratch without model.tokenizer: size of the "
                                            "SentencePiece vocabulary trained on the training texts and targets", {}});
  s.add({"model.ngram.lowercase", T::kBool, true, "lower-case before extracting n-grams", {}});
  s.add({"model.ngram.word_ngram_min", T::kInt, 1, "shortest word n-gram (0 = no word features)", {}});
  s.add({"model.ngram.word_ngram_max", T::kInt, 2, "longest word n-gram", {}});
  s.add({"model.ngram.char_ngram_min", T::kInt, 0, "shortest character n-gram inside words (0 = none, e.g. 2)", {}});
  s.add({"model.ngram.char_ngram_max", T::kInt, 5, "longest character n-gram", {}});
  s.add({"model.ngram.hash_bits", T::kInt, 22, "2^hash_bits hashed feature buckets (10..28)", {}});
  s.add({"model.ngram.min_df", T::kInt, 2, "keep features seen in at least this many training texts", {}});
  s.add({"model.ngram.sublinear_tf", T::kBool, true, "1 + ln(tf) instead of tf", {}});
  s.add({"model.ngram.use_idf", T::kBool, true, "TF-IDF weighting (smooth idf)", {}});
  s.add({"model.ngram.word_weight", T::kFloat, 1.0, "scale of the word feature group", {}});
  s.add({"model.ngram.char_weight", T::kFloat, 1.0, "scale of the character feature group", {}});
  s.add({"model.ngram.solver", T::kString, "svm", "svm: one-vs-rest squared-hinge linear SVMs (dual coordinate "
         "descent, probabilities calibrated on valid); sgd: softmax/logistic regression by averaged SGD "
         "(uses train.epochs and train.lr)", {"svm", "sgd"}});
  s.add({"model.ngram.svm_c", T::kFloat, 0.5, "svm: inverse regularisation strength C", {}});
  s.add({"model.ngram.svm_tol", T::kFloat, 0.1, "svm: stopping tolerance", {}});
  s.add({"model.ngram.svm_max_iter", T::kInt, 200, "svm: passes per class", {}});
  s.add({"model.ngram.l2", T::kFloat, 0.0, "sgd: L2 penalty of the linear model", {}});
  s.add({"model.ngram.average", T::kBool, true, "averaged SGD", {}});
  // train
  s.add({"train.epochs", T::kInt, nullptr, "passes over the training data (default: 5 for ngram, 3 otherwise)", {}});
  s.add({"train.max_steps", T::kInt, 0, "stop after this many optimizer steps (0 = epochs decide)", {}});
  s.add({"train.batch_size", T::kInt, 32, "examples per optimizer step (before accumulation)", {}});
  s.add({"train.eval_batch_size", T::kInt, 64, "examples per evaluation batch", {}});
  s.add({"train.lr", T::kFloat, nullptr, "peak learning rate (default: 0.5 for ngram, 5e-5 otherwise)", {}});
  s.add({"train.weight_decay", T::kFloat, 0.01, "AdamW weight decay (never on biases and LayerNorm)", {}});
  s.add({"train.warmup_ratio", T::kFloat, 0.0, "fraction of steps of linear warmup", {}});
  s.add({"train.warmup_steps", T::kInt, 0, "steps of linear warmup (overrides warmup_ratio)", {}});
  s.add({"train.schedule", T::kString, "linear", "decay after warmup", {"linear", "cosine", "constant"}});
  s.add({"train.grad_clip", T::kFloat, 1.0, "gradient max-norm (0 = off)", {}});
  s.add({"train.grad_accum", T::kInt, 1, "gradient accumulation steps", {}});
  s.add({"train.seed", T::kInt, 42, "seed of initialisation, shuffling and dropout", {}});
  s.add({"train.eval_every", T::kInt, 0, "evaluate on valid every N steps (0 = each epoch); classifiers also "
                                          "evaluate at each epoch end, summarize and asr only every N steps", {}});
  s.add({"train.metric", T::kString, nullptr, "validation metric choosing the best checkpoint (default: accuracy; "
                                              "rougeL for summarize)", {}});
  s.add({"train.metric_mode", T::kString, "max", "whether the metric is better higher or lower", {"max", "min"}});
  s.add({"train.patience", T::kInt, 0, "early stopping after N evaluations without improvement (0 = off)", {}});
  s.add({"train.class_weights", T::kString, "none", "loss weights per class", {"none", "balanced"}});
  s.add({"train.device", T::kString, "cpu", "cpu, cuda or cuda:N", {}});
  s.add({"train.log_every", T::kInt, 1, "log train/loss and train/lr every N steps", {}});
  // eval
  s.add({"eval.bootstrap", T::kInt, 0, "bootstrap resamples for confidence intervals on test (0 = off)", {}});
  s.add({"eval.ci", T::kFloat, 0.95, "confidence level of the intervals", {}});
  s.add({"eval.errors", T::kInt, 0, "write the N most confident mistakes per class", {}});
  s.add({"eval.valid_rows", T::kInt, 200, "summarize: ROUGE during training on the first N valid rows "
                                          "(greedy generation; 0 = all); valid/loss always uses every row", {}});
  s.add({"eval.num_beams", T::kInt, 1, "summarize: beams of generation (validation, test, generation_config.json)", {}});
  s.add({"eval.rouge_stemmer", T::kBool, false, "summarize: Porter stemming in ROUGE (English only)", {}});
  return s;
}

template <typename V>
void get(const json& j, const char* a, const char* b, V& out) {
  if (j.contains(a) && j[a].contains(b)) out = j[a][b].get<V>();
}

void positive(int64_t v, const char* key, const std::string& source, bool allow_zero = false) {
  if (v < 0 || (!allow_zero && v == 0)) {
    throw UsageError(source + ": '" + key + "' must be " + (allow_zero ? ">= 0" : "> 0") + ", got " +
                     std::to_string(v));
  }
}
}  // namespace

const ConfigSchema& train_config_schema() {
  static const ConfigSchema schema = build_schema();
  return schema;
}

TrainConfig train_config_from_json(const json& r, const std::string& source) {
  TrainConfig c;
  c.resolved = r;
  c.task = r.value("task", c.task);
  auto& d = c.data;
  get(r, "data", "train", d.train);
  get(r, "data", "valid", d.valid);
  get(r, "data", "test", d.test);
  get(r, "data", "format", d.format);
  get(r, "data", "text_column", d.text_column);
  get(r, "data", "pair_column", d.pair_column);
  get(r, "data", "label_column", d.label_column);
  get(r, "data", "label_separator", d.label_separator);
  get(r, "data", "target_column", d.target_column);
  get(r, "data", "audio_column", d.audio_column);
  get(r, "data", "language", d.language);
  get(r, "data", "delimiter", d.delimiter);
  get(r, "data", "empty_text", d.empty_text);
  get(r, "data", "max_rows", d.max_rows);
  if (d.delimiter == "\\t") d.delimiter = "\t";
  auto& m = c.model;
  get(r, "model", "type", m.type);
  get(r, "model", "init", m.init);
  get(r, "model", "config", m.config);
  get(r, "model", "tokenizer", m.tokenizer);
  get(r, "model", "max_length", m.max_length);
  get(r, "model", "head", m.head);
  get(r, "model", "head_hidden", m.head_hidden);
  get(r, "model", "pooling", m.pooling);
  get(r, "model", "dropout", m.dropout);
  get(r, "model", "freeze_encoder", m.freeze_encoder);
  get(r, "model", "source_prefix", m.source_prefix);
  get(r, "model", "max_target_length", m.max_target_length);
  get(r, "model", "vocab_size", m.vocab_size);
  if (r.contains("model") && r["model"].contains("ngram")) {
    const json& n = r["model"]["ngram"];
    auto& g = m.ngram;
    g.lowercase = n.value("lowercase", g.lowercase);
    g.word_ngram_min = n.value("word_ngram_min", g.word_ngram_min);
    g.word_ngram_max = n.value("word_ngram_max", g.word_ngram_max);
    g.char_ngram_min = n.value("char_ngram_min", g.char_ngram_min);
    g.char_ngram_max = n.value("char_ngram_max", g.char_ngram_max);
    g.hash_bits = n.value("hash_bits", g.hash_bits);
    g.min_df = n.value("min_df", g.min_df);
    g.sublinear_tf = n.value("sublinear_tf", g.sublinear_tf);
    g.use_idf = n.value("use_idf", g.use_idf);
    g.word_weight = n.value("word_weight", g.word_weight);
    g.char_weight = n.value("char_weight", g.char_weight);
    g.l2 = n.value("l2", g.l2);
    g.solver = n.value("solver", g.solver);
    g.svm_c = n.value("svm_c", g.svm_c);
    g.svm_tol = n.value("svm_tol", g.svm_tol);
    g.svm_max_iter = n.value("svm_max_iter", g.svm_max_iter);
    g.average = n.value("average", g.average);
  }
  // Defaults that depend on the model type are written back, so params.json shows what was used.
  const bool ngram = m.type == "ngram";
  if (!(r.contains("train") && r["train"].contains("epochs"))) c.resolved["train"]["epochs"] = ngram ? 5 : 3;
  if (!(r.contains("train") && r["train"].contains("lr"))) c.resolved["train"]["lr"] = ngram ? 0.5 : 5e-5;
  auto& t = c.train;
  get(c.resolved, "train", "epochs", t.epochs);
  get(r, "train", "max_steps", t.max_steps);
  get(r, "train", "batch_size", t.batch_size);
  get(r, "train", "eval_batch_size", t.eval_batch_size);
  get(c.resolved, "train", "lr", t.lr);
  get(r, "train", "weight_decay", t.weight_decay);
  get(r, "train", "warmup_ratio", t.warmup_ratio);
  get(r, "train", "warmup_steps", t.warmup_steps);
  get(r, "train", "schedule", t.schedule);
  get(r, "train", "grad_clip", t.grad_clip);
  get(r, "train", "grad_accum", t.grad_accum);
  get(r, "train", "seed", t.seed);
  get(r, "train", "eval_every", t.eval_every);
  if (!(r.contains("train") && r["train"].contains("metric"))) {
    c.resolved["train"]["metric"] = c.task == "summarize" ? "rougeL" : "accuracy";
  }
  get(c.resolved, "train", "metric", t.metric);
  get(r, "train", "metric_mode", t.metric_mode);
  get(r, "train", "patience", t.patience);
  get(r, "train", "class_weights", t.class_weights);
  get(r, "train", "device", t.device);
  get(r, "train", "log_every", t.log_every);
  get(r, "eval", "bootstrap", c.eval.bootstrap);
  get(r, "eval", "ci", c.eval.ci);
  get(r, "eval", "errors", c.eval.errors);
  get(r, "eval", "valid_rows", c.eval.valid_rows);
  get(r, "eval", "num_beams", c.eval.num_beams);
  get(r, "eval", "rouge_stemmer", c.eval.rouge_stemmer);

  if (d.train.empty()) throw UsageError(source + ": 'data.train' is required (the training file)");
  positive(t.epochs, "train.epochs", source, true);
  positive(t.max_steps, "train.max_steps", source, true);
  if (t.epochs == 0 && t.max_steps == 0) {
    throw UsageError(source + ": set 'train.epochs' or 'train.max_steps' to a positive number");
  }
  positive(t.batch_size, "train.batch_size", source);
  positive(t.eval_batch_size, "train.eval_batch_size", source);
  positive(t.grad_accum, "train.grad_accum", source);
  positive(m.max_length, "model.max_length", source);
  positive(m.max_target_length, "model.max_target_length", source);
  positive(c.eval.num_beams, "eval.num_beams", source);
  if (m.vocab_size < 8) throw UsageError(source + ": 'model.vocab_size' must be at least 8");
  if (!(t.lr > 0)) throw UsageError(source + ": 'train.lr' must be > 0");
  if (t.warmup_ratio < 0 || t.warmup_ratio >= 1) throw UsageError(source + ": 'train.warmup_ratio' must be in [0, 1)");
  if (c.eval.ci <= 0 || c.eval.ci >= 1) throw UsageError(source + ": 'eval.ci' must be in (0, 1)");
  if (d.delimiter.size() != 1) throw UsageError(source + ": 'data.delimiter' must be one character");
  if (m.type != "ngram" && m.init == "random" && m.config.empty()) {
    throw UsageError(source + ": model.init is \"random\": set 'model.config' to an architecture config.json "
                              "(e.g. configs/models/bert-mini.json) or 'model.init' to a model folder");
  }
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
