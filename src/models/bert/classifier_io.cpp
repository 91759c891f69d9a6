// load_classifier / save_classifier: Hugging Face model folders <-> SequenceClassifier.
#include <algorithm>
#include <filesystem>
#include <set>

#include "nlpc/core/error.h"
#include "nlpc/core/strings.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/hf_keys.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/models/bert/classifier.h"

namespace nlpc::models {
namespace fs = std::filesystem;
namespace {


std::set<std::string> key_set(const StateDict& d) {
  std::set<std::string> out;
  for (const auto& kv : d) out.insert(kv.first);
  return out;
}

// Heads of another sequence classifier (different labels, or the HF head when nlpc's MLP head is
// asked for, and the other way round): dropped and initialised fresh when fine-tuning.
bool is_classifier_head(const std::string& k) {
  return starts_with(k, "classifier.") || starts_with(k, "pre_classifier.") || starts_with(k, "nlpc_head.");
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

// Fine-tuning start, as transformers' from_pretrained for a new task head: the encoder must match
// strictly; a classification head of the same shape is kept, else initialised fresh; pre-training
// heads are dropped; one log line says what was ignored and what was newly initialised. Any other
// key is an error.
void load_for_finetuning(SequenceClassifier& model, StateDict weights, const std::string& dir) {
  const std::string prefix = model.encoder().prefix() + ".";
  const StateDict targets = module_state_dict(model);
  StateDict encoder_w, head_w;
  std::vector<std::string> ignored, unexpected, fresh;
  for (auto& [k, t] : weights) {
    if (starts_with(k, prefix)) {
      encoder_w[k.substr(prefix.size())] = t;
    } else if (targets.count(k)) {
      head_w[k] = t;
    } else if (is_pretraining_head(k) || is_classifier_head(k)) {
      ignored.push_back(k);
    } else {
      unexpected.push_back(k);
    }
  }
  if (!unexpected.empty()) {
    throw InputError(dir, 0, 0, "checkpoint does not match the model (nothing was loaded):\n  unexpected keys (" +
                                    std::to_string(unexpected.size()) + "): " + key_list(unexpected, 20) +
                                    "\n  (only pre-training heads and classification heads are dropped when fine-tuning)");
  }
  for (const char* pooler : {"pooler.dense.weight", "pooler.dense.bias"}) {
    const std::string full = prefix + pooler;
    if (targets.count(full) && !encoder_w.count(pooler)) {
      fresh.push_back(full);
      encoder_w[pooler] = targets.at(full);
    }
  }
  load_state_dict_strict(model.encoder(), encoder_w, dir);
  bool head_matches = true;
  std::vector<std::string> head_keys;
  for (const auto& [k, t] : targets) {
    if (starts_with(k, prefix)) continue;
    head_keys.push_back(k);
    auto it = head_w.find(k);
    head_matches = head_matches && it != head_w.end() && it->second.sizes() == t.sizes();
  }
  const bool head_loaded = head_matches && head_keys.size() == head_w.size();
  if (head_loaded) {
    torch::NoGradGuard no_grad;
    for (const auto& [k, t] : head_w) targets.at(k).copy_(t);
  } else {
    for (const auto& [k, t] : head_w) ignored.push_back(k);
    fresh.insert(fresh.end(), head_keys.begin(), head_keys.end());
  }
  std::sort(ignored.begin(), ignored.end());
  spdlog::info("{}: loaded the encoder{}; ignored {} checkpoint tensor(s){}{}; newly initialised: {}", dir,
               head_loaded ? " and the classification head" : "", ignored.size(),
               ignored.empty() ? "" : ": ", key_list(ignored), fresh.empty() ? "nothing" : key_list(fresh));
}

void log_key_changes(const std::string& dir, const KeyReport& r) {
  if (r.renamed == 0 && r.dropped.empty() && r.prefix_change.empty()) return;
  spdlog::info("{}: checkpoint keys adapted as transformers does:{}{}{}", dir,
               r.renamed ? " renamed " + std::to_string(r.renamed) + " LayerNorm gamma/beta to weight/bias;" : "",
               r.dropped.empty() ? "" : " dropped buffer(s) " + key_list(r.dropped) + ";",
               r.prefix_change.empty() ? "" : " " + r.prefix_change + " prefix");
}

}  // namespace

std::shared_ptr<SequenceClassifier> load_classifier(const std::string& dir, c10::Device device,
                                                    const std::optional<ClassifierOptions>& options,
                                                    torch::Dtype dtype, const std::string& precision) {
  ModelConfig config = load_model_config(dir);
  const std::string config_file = fs::is_directory(dir) ? (fs::path(dir) / "config.json").string() : dir;
  const ClassifierOptions opts = options ? *options : options_from_config(config, config_file);
  auto model = std::make_shared<SequenceClassifier>(config, opts);
  model->init_weights();
  model->to(dtype);
  StateDict raw = load_checkpoint(dir, dtype);
  const bool quantize = int8::before_load(*model, raw, options ? "fp32" : precision, dir);
  KeyReport keys;
  StateDict weights = adapt_hf_keys(std::move(raw), model->encoder().prefix(), key_set(module_state_dict(*model)), &keys);
  log_key_changes(dir, keys);
  if (options) {
    load_for_finetuning(*model, std::move(weights), dir);
  } else {
    load_state_dict_strict(*model, weights, dir);
  }
  if (quantize) int8::quantize_module(*model);
  int8::check_device(*model, device);
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
