// Strict loading of Hugging Face T5 state dicts.
//
// HF T5 checkpoints may hold aliases of the shared embedding (transformers' _tied_weights_keys):
// encoder.embed_tokens.weight, decoder.embed_tokens.weight, and lm_head.weight when
// tie_word_embeddings is true. They are accepted when equal to shared.weight (one of them stands in
// for shared.weight when that key is absent) and rejected, by name, when they differ. The unused
// decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight of old checkpoints is
// ignored, as transformers does.
#include <filesystem>
#include <set>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/hf_keys.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/models/registry.h"
#include "nlpc/models/t5/t5.h"

namespace nlpc::models {
namespace {

// Resolves the tied aliases into one map whose keys are exactly the module's parameter names.
T5StateDict resolve_aliases(const T5StateDict& in, bool tied, const std::string& source,
                            std::vector<std::string>& problems) {
  T5StateDict w = in;
  std::vector<std::string> aliases = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
  if (tied) aliases.push_back("lm_head.weight");
  if (!w.count("shared.weight")) {
    for (const auto& a : aliases) {
      if (a != "lm_head.weight" && w.count(a)) {
        w["shared.weight"] = w.at(a);
        break;
      }
    }
  }
  auto shared = w.find("shared.weight");
  for (const auto& a : aliases) {
    auto it = w.find(a);
    if (it == w.end()) continue;
    if (shared != w.end() && !(it->second.sizes() == shared->second.sizes() &&
                               torch::equal(it->second.to(torch::kFloat), shared->second.to(torch::kFloat)))) {
      problems.push_back(a + " differs from shared.weight, but T5 ties them" +
                         std::string(a == "lm_head.weight" ? " (tie_word_embeddings is true)" : ""));
    }
    w.erase(a);
  }
  (void)source;
  return w;
}

}  // namespace

void T5ForConditionalGenerationImpl::load_state(const T5StateDict& raw, const std::string& source) {
  std::set<std::string> expected;
  for (const auto& kv : module_state_dict(*this)) expected.insert(kv.first);
  // checkpoints saved under T5's base_model_prefix ("transformer.") lose it
  const T5StateDict weights = adapt_hf_keys(raw, find_model_family("t5", source).prefix, expected);
  std::vector<std::string> problems;
  auto resolved = resolve_aliases(weights, config_.tie_word_embeddings, source, problems);
  if (!problems.empty()) {
    std::string msg = "checkpoint does not match the model (nothing was loaded):";
    for (const auto& p : problems) msg += "\n  " + p;
    throw InputError(source, 0, 0, msg);
  }
  // Old T5 checkpoints (t5-small and friends) carry a relative bias for the decoder's first
  // cross-attention that HF never uses (_keys_to_ignore_on_load_unexpected); skip it like HF does.
  load_state_dict_strict(*this, resolved, source, {"decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"});
}

void save_t5(const T5ForConditionalGenerationImpl& model, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const auto base = std::filesystem::path(dir);
  write_file_atomic((base / "config.json").string(), t5_config_to_json(model.config()).dump(2) + "\n");
  save_safetensors((base / "model.safetensors").string(), model.hf_state_dict());
}

T5ForConditionalGeneration load_t5(const std::string& dir, const std::string& precision) {
  T5ForConditionalGeneration model(load_t5_config(dir));
  StateDict weights = load_checkpoint(dir);
  const bool quantize = int8::before_load(*model, weights, precision, dir);
  model->load_state(weights, dir);
  if (quantize) int8::quantize_module(*model);
  model->eval();
  return model;
}

}  // namespace nlpc::models
