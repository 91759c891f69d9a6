// `nlpc train` for BERT-family models (model.type bert | distilbert): from scratch (model.init
// random + model.config) or fine-tuning a Hugging Face folder; HF or MLP head; frozen encoder.
#include <filesystem>
#include <map>

#include <torch/torch.h>

#include "nlpc/dist/dist.h"
#include "nlpc/data/model_columns.h"
#include "nlpc/tasks/classification/train.h"
#include "nlpc/tasks/train_common.h"
#include "nlpc/tasks/encoding.h"
#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/eval/classification.h"
#include "nlpc/eval/multilabel.h"
#include "nlpc/models/bert/classifier.h"
#include "nlpc/models/bert/config.h"
#include "nlpc/models/device.h"
#include "nlpc/models/registry.h"
#include "nlpc/text/tokenizer.h"
#include "nlpc/train/stream.h"
#include "nlpc/train/trainer.h"

namespace nlpc {
namespace fs = std::filesystem;

namespace {
std::vector<train::Example> encode_set(const text::Tokenizer& tok, const LabelledSet& s, const TrainConfig& cfg,
                                       size_t num_labels, bool multilabel) {
  std::vector<train::Example> out;
  out.reserve(s.texts.size());
  for (size_t i = 0; i < s.texts.size(); ++i) {
    train::Example e = encode_example(tok, s.texts[i], s.pairs.empty() ? nullptr : &s.pairs[i], cfg.model.max_length);
    if (multilabel) {
      e.targets.assign(num_labels, 0.f);
      for (int l : s.label_sets[i]) e.targets[static_cast<size_t>(l)] = 1.f;
    } else {
      e.label = s.labels[i];
    }
    out.push_back(std::move(e));
  }
  return out;
}

// The training file read while training (data.shuffle_buffer > 0): each row tokenized as it is read;
// a second reader with a small buffer reads single rows again (the shuffle buffer on resume).
class LabelledExampleSource : public train::ExampleSource {
 public:
  LabelledExampleSource(const TrainConfig& cfg, const TrainData& data, const text::Tokenizer& tok)
      : spec_(data.spec), summary_(*data.train_summary), tok_(tok), max_length_(cfg.model.max_length),
        rows_(cfg.data.train, spec_), again_(cfg.data.train, spec_, 64 << 10), start_(rows_.position()) {
    for (size_t i = 0; i < data.labels.size(); ++i) ids_[data.labels[i]] = static_cast<int>(i);
  }
  io::ReadPosition position() const override { return rows_.position(); }
  void seek(const io::ReadPosition& where, int64_t rows_before) override { rows_.seek(where, rows_before); }
  io::ReadPosition start() const override { return start_; }
  bool next(train::Example& e) override {
    if (!rows_.next()) return false;
    e = encode(rows_);
    return true;
  }
  train::Example read_at(const io::ReadPosition& where) override {
    again_.seek(where, 0);
    if (!again_.next()) {
      throw InputError(summary_.file, where.line + 1, 0, "no training row here any more: the file changed while training");
    }
    return encode(again_);
  }
  std::vector<Chunk> chunks() const override {
    std::vector<Chunk> out;
    for (const auto& c : summary_.chunks) out.push_back(Chunk{c.start, c.first_row, c.rows});
    return out;
  }
  int64_t size() const override { return summary_.num_rows; }
  uint64_t fingerprint() const override { return summary_.fingerprint; }
  std::string name() const override { return summary_.file; }

 private:
  train::Example encode(LabelledRows& r) {
    train::Example e = encode_example(tok_, r.text(), r.pair(), max_length_);
    const auto names = labels_of_cell(r.label(), spec_);
    if (spec_.multilabel) e.targets.assign(ids_.size(), 0.f);
    for (const std::string& name : names) {
      auto it = ids_.find(name);
      if (it == ids_.end()) {
        throw InputError(summary_.file, r.record().line, 0,
                         "label '" + name + "' was not in this file when training started: it changed while training");
      }
      if (spec_.multilabel) {
        e.targets[static_cast<size_t>(it->second)] = 1.f;
      } else {
        e.label = it->second;
      }
    }
    return e;
  }

  DataSpec spec_;
  const LabelledSummary& summary_;
  const text::Tokenizer& tok_;
  int64_t max_length_;
  LabelledRows rows_, again_;
  io::ReadPosition start_;
  std::map<std::string, int> ids_;
};

eval::Matrix probabilities(const torch::Tensor& logits, bool multilabel) {
  torch::Tensor p = (multilabel ? torch::sigmoid(logits) : torch::softmax(logits, -1)).to(torch::kFloat).contiguous();
  eval::Matrix m(p.size(0), p.size(1));
  std::copy(p.data_ptr<float>(), p.data_ptr<float>() + p.numel(), m.data.begin());
  return m;
}

std::string tokenizer_source(const TrainConfig& cfg) {
  if (!cfg.model.tokenizer.empty()) return cfg.model.tokenizer;
  if (cfg.model.init != "random") return cfg.model.init;
  throw UsageError("model.init is \"random\": set 'model.tokenizer' to a tokenizer folder or file "
                   "(e.g. configs/tokenizers/bert-base-uncased)");
}
}  // namespace

int64_t train_transformer(const TrainConfig& cfg, const TrainData& data, runs::Run& run, bool resume) {
  const bool multilabel = data.spec.multilabel;
  const c10::Device device = resolve_device(cfg.train.device);
  const std::string tok_path = tokenizer_source(cfg);
  auto tok = text::load_tokenizer(tok_path);
  const std::string tok_dir = fs::is_directory(tok_path) ? tok_path : fs::path(tok_path).parent_path().string();

  models::ClassifierOptions copt;
  copt.labels = data.labels;
  copt.problem_type = multilabel ? models::ProblemType::kMultiLabel : models::ProblemType::kSingleLabel;
  copt.head.kind = cfg.model.head;
  copt.head.hidden_sizes = cfg.model.head_hidden;
  copt.head.pooling = cfg.model.pooling;
  if (cfg.model.dropout >= 0) copt.head.dropout = cfg.model.dropout;
  copt.head.freeze_encoder = cfg.model.freeze_encoder;

  train::seed_everything(static_cast<uint64_t>(cfg.train.seed));
  std::shared_ptr<models::SequenceClassifier> model;
  if (cfg.model.init == "random") {
    models::ModelConfig mc = models::load_model_config(cfg.model.config);
    if (mc.model_type != cfg.model.type) {
      throw UsageError("model.type is '" + cfg.model.type + "' but " + cfg.model.config + " describes '" +
                       mc.model_type + "'");
    }
    const int64_t vocab = static_cast<int64_t>(tok->vocab_size());
    if (mc.model_type == "bert") mc.bert.vocab_size = vocab; else mc.distilbert.vocab_size = vocab;
    mc.raw["vocab_size"] = vocab;
    spdlog::info("from scratch: {} ({} layers, hidden {}), vocabulary {} from {}", cfg.model.config, mc.num_layers(),
                 mc.hidden_size(), vocab, tok_path);
    model = models::create_classifier(mc, copt, device);
  } else {
    model = models::load_classifier(cfg.model.init, device, copt);
  }
  // A frozen encoder runs once per distinct training or validation text; the head trains on the cache.
  const bool streamed = data.train_summary.has_value();
  if (cfg.model.freeze_encoder && cfg.model.cache_features) {
    if (streamed) {
      spdlog::info("frozen encoder with a streamed training file: features are not cached (memory would grow "
                   "with the data); set data.shuffle_buffer to 0 to cache them");
    } else {
      model->cache_frozen_features(true);
    }
  }
  int64_t n_params = 0, n_trainable = 0;
  for (const auto& p : model->parameters()) n_params += p.numel();
  run.log_param("model.num_parameters", n_params);

  std::vector<train::Example> train_ex;
  std::unique_ptr<LabelledExampleSource> source;
  if (streamed) {
    source = std::make_unique<LabelledExampleSource>(cfg, data, *tok);
  } else {
    train_ex = encode_set(*tok, data.train, cfg, data.labels.size(), multilabel);
  }
  std::vector<train::Example> valid_ex;
  if (data.valid) valid_ex = encode_set(*tok, *data.valid, cfg, data.labels.size(), multilabel);

  train::TrainerOptions o = trainer_options(cfg, run, device, pad_id_of(*tok));
  o.loss.task = multilabel ? train::Task::kMultiLabel : train::Task::kClassification;
  if (cfg.train.class_weights == "balanced" && streamed) {
    std::vector<int64_t> counts;
    for (const auto& name : data.labels) counts.push_back(data.train_summary->label_counts.at(name));
    o.loss.class_weights = torch::tensor(train::balanced_weights_from_counts(counts, data.train.num_rows, multilabel));
  } else if (cfg.train.class_weights == "balanced") {
    if (multilabel) {
      std::vector<std::vector<float>> t;
      for (const auto& e : train_ex) t.push_back(e.targets);
      o.loss.class_weights = torch::tensor(train::balanced_pos_weights(t));
    } else {
      std::vector<int64_t> labels;
      for (const auto& e : train_ex) labels.push_back(e.label);
      o.loss.class_weights =
          torch::tensor(train::balanced_class_weights(labels, static_cast<int64_t>(data.labels.size())));
    }
  }
  if (cfg.model.freeze_encoder) o.freeze_prefixes = {models::find_architecture(cfg.model.type, "model.type").prefix + "."};
  o.metric_for_best = cfg.train.metric;
  o.greater_is_better = cfg.train.metric_mode == "max";

  train::ModuleModel tm(model, [model](const train::Batch& b) {
    return model->forward(b.input_ids, b.attention_mask, b.token_type_ids);  // [batch, labels]
  });
  for (const auto& [name, p] : tm.named_parameters()) {
    if (!cfg.model.freeze_encoder || name.rfind(o.freeze_prefixes[0], 0) != 0) n_trainable += p.numel();
  }
  run.log_param("model.trainable_parameters", n_trainable);

  const std::string model_dir = run.artifact_path("model");
  train::TrainerCallbacks cb;
  if (!valid_ex.empty()) {
    cb.evaluate = [&](train::TrainableModel& m) {
      torch::Tensor logits = train::predict_logits(m, valid_ex, o.batching, device);  // [n, k]
      eval::Matrix p = probabilities(logits, multilabel);
      eval::MetricSet ms = multilabel ? eval::multilabel_metrics(data.valid->label_sets, p, {0.5f}, data.labels)
                                      : eval::classification_metrics(data.valid->labels, p, data.labels,
                                                                     eval::ClassificationOptions{false, true, true});
      train::MetricMap mm;
      for (const auto& [k, v] : ms.items()) mm[k] = v;
      return mm;
    };
  }
  cb.shard_evaluation = true;  // the callback is predict_logits + metrics: every rank scores its share
  log_curves(cb, cfg, run);
  cb.save_model = [&](train::CheckpointKind kind, train::TrainableModel&) {
    const std::string dir = kind == train::CheckpointKind::kBest ? model_dir : o.checkpoint_dir + "/last";
    models::save_classifier(*model, dir, tok_dir);
    set_model_max_length(dir, cfg.model.max_length);
    record_model_columns(dir, columns_of_spec(data.spec, cfg.task));
  };

  if (streamed) o.batching.shuffle_buffer = cfg.data.shuffle_buffer;
  auto trainer = streamed ? std::make_unique<train::Trainer>(tm, *source, o, cb)
                          : std::make_unique<train::Trainer>(tm, train_ex, o, cb);
  train::TrainResult r = resume ? trainer->resume() : trainer->train();
  if (cfg.model.freeze_encoder && cfg.model.cache_features && !streamed) {
    spdlog::info("frozen encoder: features of {} distinct inputs cached", model->cached_inputs());
    model->cache_frozen_features(false);
  }
  if (!dist::is_main()) return r.steps;  // under a launcher, rank 0 alone saves and scores
  run.log_metric("train/samples_per_s", r.samples_per_s, r.steps);
  // The model now holds the best parameters: save them (also when there was no evaluation).
  models::save_classifier(*model, model_dir, tok_dir);
  set_model_max_length(model_dir, cfg.model.max_length);
  record_model_columns(model_dir, columns_of_spec(data.spec, cfg.task));
  if (multilabel && !valid_ex.empty()) {
    // Per-label thresholds tuned on valid, stored in config.json (nlpc_thresholds).
    torch::Tensor logits = train::predict_logits(tm, valid_ex, o.batching, device);
    auto th = eval::tune_thresholds(data.valid->label_sets, probabilities(logits, true));
    const std::string cpath = model_dir + "/config.json";
    nlohmann::json c = read_json_file(cpath);
    c["nlpc_thresholds"] = th;
    write_file_atomic(cpath, c.dump(2) + "\n");
  }
  return r.steps;
}

}  // namespace nlpc
