// load_classifier / save_classifier: Hugging Face model folders <-> SequenceClassifier.
#include <filesystem>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/bert/classifier.h"

namespace nlpc::models {
namespace fs = std::filesystem;
namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// HF's key fix-ups: LayerNorm gamma/beta -> weight/bias, the never-needed position_ids buffer, and
// base-model checkpoints saved without the "<prefix>." in front of their keys.
StateDict normalize_keys(StateDict in, const std::string& prefix) {
  StateDict out;
  bool has_prefix = false;
  for (const auto& kv : in) has_prefix = has_prefix || starts_with(kv.first, prefix + ".");
  for (auto& [name, t] : in) {
    std::string k = name;
    if (ends_with(k, ".gamma")) k = k.substr(0, k.size() - 6) + ".weight";
    if (ends_with(k, ".beta")) k = k.substr(0, k.size() - 5) + ".bias";
    if (ends_with(k, "embeddings.position_ids")) continue;
    if (!has_prefix && (starts_with(k, "embeddings.") || starts_with(k, "encoder.") || starts_with(k, "pooler.") ||
                        starts_with(k, "transformer."))) {
      k = prefix + "." + k;
    }
    out[k] = std::move(t);
  }
  return out;
}

ClassifierOptions options_from_config(const ModelConfig& c, const std::string& file) {
  if (c.id2label.empty()) {
    throw InputError(file, 0, 0, "no \"id2label\": this folder holds no sequence classifier; to fine-tune it, "
                                 "give the labels (train config) so that a new head is created");
  }
  ClassifierOptions o;
  o.labels = c.id2label;
  if (!c.problem_type.empty()) {
    o.problem_type = parse_problem_type(c.problem_type);
  } else {
    o.problem_type = c.id2label.size() == 1 ? ProblemType::kRegression : ProblemType::kSingleLabel;
  }
  auto it = c.raw.find("nlpc_head");
  if (it == c.raw.end()) return o;
  try {
    const auto& h = *it;
    o.head.kind = "mlp";
    o.head.hidden_sizes = h.value("hidden_sizes", std::vector<int64_t>{});
    o.head.pooling = h.value("pooling", std::string("cls"));
    o.head.activation = h.value("activation", std::string("relu"));
    o.head.dropout = h.value("dropout", 0.1);
    o.head.freeze_encoder = h.value("freeze_encoder", false);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(file, 0, 0, std::string("invalid \"nlpc_head\": ") + e.what());
  }
  return o;
}

// Fine-tuning start: strict on the encoder, lenient on the head and on foreign keys.
void load_for_finetuning(SequenceClassifier& model, StateDict weights, const std::string& dir) {
  const std::string prefix = model.encoder().prefix() + ".";
  const StateDict targets = module_state_dict(model);
  StateDict encoder_w, head_w;
  std::vector<std::string> ignored;
  for (auto& [k, t] : weights) {
    if (starts_with(k, prefix)) {
      encoder_w[k.substr(prefix.size())] = t;
    } else if (targets.count(k)) {
      head_w[k] = t;
    } else {
      ignored.push_back(k);
    }
  }
  for (const char* pooler : {"pooler.dense.weight", "pooler.dense.bias"}) {
    const std::string full = prefix + pooler;
    if (targets.count(full) && !encoder_w.count(pooler)) {
      spdlog::warn("{}: no {} in the checkpoint; it is initialised fresh (as transformers does)", dir, full);
      encoder_w[pooler] = targets.at(full);
    }
  }
  load_state_dict_strict(model.encoder(), encoder_w, dir);
  bool head_matches = true;
  size_t head_params = 0;
  for (const auto& [k, t] : targets) {
    if (starts_with(k, prefix)) continue;
    ++head_params;
    auto it = head_w.find(k);
    head_matches = head_matches && it != head_w.end() && it->second.sizes() == t.sizes();
  }
  if (head_matches && head_params == head_w.size()) {
    torch::NoGradGuard no_grad;
    for (const auto& [k, t] : head_w) targets.at(k).copy_(t);
    spdlog::info("{}: loaded encoder and classification head", dir);
  } else {
    for (const auto& [k, t] : head_w) ignored.push_back(k);
    spdlog::info("{}: loaded encoder; classification head initialised fresh", dir);
  }
  if (!ignored.empty()) {
    std::string list;
    for (size_t i = 0; i < ignored.size() && i < 8; ++i) list += (i ? ", " : "") + ignored[i];
    spdlog::info("{}: ignored {} checkpoint tensor(s) not used by the classifier: {}{}", dir, ignored.size(), list,
                 ignored.size() > 8 ? ", ..." : "");
  }
}

}  // namespace

std::shared_ptr<SequenceClassifier> load_classifier(const std::string& dir, c10::Device device,
                                                    const std::optional<ClassifierOptions>& options,
                                                    torch::Dtype dtype) {
  ModelConfig config = load_model_config(dir);
  const std::string config_file = fs::is_directory(dir) ? (fs::path(dir) / "config.json").string() : dir;
  const ClassifierOptions opts = options ? *options : options_from_config(config, config_file);
  auto model = std::make_shared<SequenceClassifier>(config, opts);
  model->init_weights();
  StateDict weights = normalize_keys(load_checkpoint(dir, dtype), model->encoder().prefix());
  model->to(dtype);
  if (options) {
    load_for_finetuning(*model, std::move(weights), dir);
  } else {
    load_state_dict_strict(*model, weights, dir);
  }
  model->to(device);
  return model;
}

void save_classifier(SequenceClassifier& model, const std::string& dir, const std::string& tokenizer_dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw RuntimeError("cannot create model folder " + dir + ": " + ec.message());
  save_safetensors((fs::path(dir) / "model.safetensors").string(), module_state_dict(model));
  write_file_atomic((fs::path(dir) / "config.json").string(), model_config_to_json(model.export_config()).dump(2) + "\n");
  if (tokenizer_dir.empty()) return;
  if (fs::exists(tokenizer_dir) && fs::exists(dir) && fs::equivalent(tokenizer_dir, dir)) return;
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
                           "vocab.json", "merges.txt", "spiece.model", "sentencepiece.bpe.model",
                           "added_tokens.json"}) {
    const fs::path src = fs::path(tokenizer_dir) / name;
    if (fs::exists(src)) write_file_atomic((fs::path(dir) / name).string(), read_file(src.string()));
  }
}

}  // namespace nlpc::models
