// `nlpc models inspect` / `convert`: see include/nlpc/models/inspect.h.
#include "nlpc/models/inspect.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/strings.h"
#include "nlpc/core/fs.h"
#include "nlpc/io/torch_checkpoint.h"
#include "nlpc/models/bert/classifier.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/models/registry.h"
#include "nlpc/models/t5/t5.h"
#include "nlpc/models/whisper/whisper.h"
#include "nlpc/text/tokenizer.h"

namespace nlpc::models {
namespace fs = std::filesystem;
namespace {


std::string dtype_name(torch::Dtype d) {
  switch (d) {
    case torch::kFloat64: return "F64";
    case torch::kFloat32: return "F32";
    case torch::kFloat16: return "F16";
    case torch::kBFloat16: return "BF16";
    case torch::kInt64: return "I64";
    case torch::kInt32: return "I32";
    case torch::kInt16: return "I16";
    case torch::kInt8: return "I8";
    case torch::kUInt8: return "U8";
    case torch::kBool: return "BOOL";
    default: return c10::toString(d);
  }
}

std::string describe_weights(const std::string& file) {
  const fs::path p(file);
  if (p.extension() == ".safetensors") return "safetensors";
  if (p.extension() == ".json") {
    auto index = read_json_file(file);
    std::set<std::string> shards;
    if (index.contains("weight_map") && index["weight_map"].is_object()) {
      for (const auto& v : index["weight_map"]) {
        if (v.is_string()) shards.insert(v.get<std::string>());
      }
    }
    const bool bin = p.filename().string().rfind("pytorch_model", 0) == 0;
    return std::string("sharded ") + (bin ? "PyTorch" : "safetensors") + " (" + std::to_string(shards.size()) + " files)";
  }
  return std::string("PyTorch ") + pytorch::Checkpoint::open(file)->format();
}

// The model's tensor names and the aliases its loader accepts and skips, per family.
struct Expectation {
  std::set<std::string> keys;
  std::set<std::string> aliases;
  bool classifier = false;
  std::string prefix;
};

Expectation expectation(const std::string& dir, const Architecture& family) {
  Expectation e;
  e.prefix = family.prefix;
  auto add = [&e](const StateDict& d) {
    for (const auto& kv : d) e.keys.insert(kv.first);
  };
  torch::NoGradGuard no_grad;
  if (family.create_encoder != nullptr) {
    ModelConfig mc = load_model_config(dir);
    ClassifierOptions o;
    o.labels = mc.id2label.size() >= 2 ? mc.id2label : std::vector<std::string>{"LABEL_0", "LABEL_1"};
    add(module_state_dict(SequenceClassifier(mc, o)));
    e.classifier = true;
  } else if (family.model_type == "t5") {
    T5ForConditionalGeneration m(load_t5_config(dir));
    add(module_state_dict(*m));
    e.aliases = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight",
                 "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"};
  } else if (family.model_type == "whisper") {
    WhisperForConditionalGeneration m(load_whisper_config(dir));
    add(m->state());
    e.aliases = {"proj_out.weight"};
  }
  return e;
}

void plan(FolderReport& r, const StateDict& weights, const Expectation& e) {
  const StateDict adapted = adapt_hf_keys(weights, e.prefix, e.keys, &r.keys);
  const std::string scale_suffix = std::string(".") + int8::kScaleBuffer;
  for (const auto& [k, t] : adapted) {
    const bool int8_scale = k.size() > scale_suffix.size() &&
                            k.compare(k.size() - scale_suffix.size(), scale_suffix.size(), scale_suffix) == 0 &&
                            e.keys.count(k.substr(0, k.size() - scale_suffix.size()) + ".weight");
    if (int8_scale) {
      ++r.loaded;
      ++r.int8_layers;
    } else if (e.keys.count(k)) {
      ++r.loaded;
      if (t.is_floating_point() || t.scalar_type() == torch::kChar) r.parameters += t.numel();
    } else if (e.aliases.count(k)) {
      r.tied.push_back(k);
    } else if (e.classifier && (is_pretraining_head(k) || starts_with(k, "classifier.") ||
                                starts_with(k, "pre_classifier.") || starts_with(k, "nlpc_head."))) {
      r.ignored.push_back(k);
    } else {
      r.unexpected.push_back(k);
    }
  }
  const bool shared_alias = adapted.count("encoder.embed_tokens.weight") || adapted.count("decoder.embed_tokens.weight");
  for (const auto& k : e.keys) {
    if (adapted.count(k) || (k == "shared.weight" && shared_alias)) continue;
    const bool head = e.classifier && (!starts_with(k, e.prefix + ".") || starts_with(k, e.prefix + ".pooler."));
    (head ? r.initialised : r.missing).push_back(k);
  }
}

}  // namespace

FolderReport inspect_folder(const std::string& dir) {
  FolderReport r;
  r.dir = dir;
  const std::string config_file = (fs::path(dir) / "config.json").string();
  nlohmann::json raw = read_json_file(config_file);
  const nlohmann::json config = read_model_config(dir);
  r.model_type = config["model_type"].get<std::string>();
  if (!raw.contains("model_type")) infer_model_type(raw, config_file, &r.model_type_source);
  if (config.contains("architectures") && config["architectures"].is_array()) {
    for (const auto& a : config["architectures"]) {
      if (a.is_string()) r.architectures.push_back(a.get<std::string>());
    }
  }
  const Architecture& family = find_model_family(r.model_type, config_file);
  r.task = family.task;
  if (r.model_type == "nlpc-ngram") return r;  // nlpc's own baseline: no tensors
  r.weights_file = find_weights(dir);
  r.weights_format = describe_weights(r.weights_file);
  {
    const auto metadata = weights_metadata(dir);
    auto q = metadata.find(int8::kMetadataKey);
    if (q != metadata.end()) r.quantization = q->second;
  }
  const StateDict weights = load_checkpoint(dir, kKeepDtype);
  std::map<std::string, int64_t> counts;
  for (const auto& [name, t] : weights) {
    r.tensors.push_back({name, dtype_name(t.scalar_type()), t.sizes().vec()});
    ++counts[r.tensors.back().dtype];
  }
  r.dtypes.assign(counts.begin(), counts.end());
  try {
    auto tok = text::load_tokenizer(dir);
    r.tokenizer = tok->family();
    r.vocab_size = static_cast<int64_t>(tok->vocab_size());
  } catch (const Error& e) {
    r.tokenizer = std::string("none (") + e.what() + ")";
  }
  plan(r, weights, expectation(dir, family));
  return r;
}

std::vector<std::string> copy_other_files(const std::string& dir, const std::string& out) {
  std::vector<std::string> copied;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const std::string ext = e.path().extension().string();
    const bool weights_like = ext == ".bin" || ext == ".safetensors" || ext == ".h5" || ext == ".msgpack" ||
                              ext == ".pt" || ext == ".pth" || name == "config.json" ||
                              name == "model.safetensors.index.json" || name == "pytorch_model.bin.index.json";
    if (!e.is_regular_file() || weights_like) continue;
    write_file_atomic((fs::path(out) / name).string(), read_file(e.path().string()));
    copied.push_back(name);
  }
  std::sort(copied.begin(), copied.end());
  return copied;
}

ConvertResult convert_folder(const std::string& dir, const std::string& out) {
  std::error_code ec;
  if (!fs::is_directory(dir)) throw InputError(dir, 0, 0, "not a model folder");
  if (fs::exists(out) && fs::equivalent(dir, out, ec)) {
    throw UsageError("--to " + out + " is the source folder; give a new folder");
  }
  const nlohmann::json config = read_model_config(dir);
  find_weights(dir);  // a clear error before anything is created
  StateDict weights = adapt_hf_keys(load_checkpoint(dir, kKeepDtype), "", {});
  fs::create_directories(out, ec);
  if (ec) throw UsageError("cannot create " + out + ": " + ec.message());
  ConvertResult r;
  r.weights = (fs::path(out) / "model.safetensors").string();
  r.tensors = weights.size();
  for (const auto& kv : weights) r.bytes += kv.second.numel() * kv.second.element_size();
  save_safetensors(r.weights, weights);
  write_file_atomic((fs::path(out) / "config.json").string(), config.dump(2) + "\n");
  r.copied = copy_other_files(dir, out);
  return r;
}

}  // namespace nlpc::models
