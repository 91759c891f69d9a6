// Strict loading of Hugging Face T5 state dicts.
//
// HF T5 checkpoints may hold aliases of the shared embedding (transformers' _tied_weights_keys):
// encoder.embed_tokens.weight, decoder.embed_tokens.weight, and lm_head.weight when
// tie_word_embeddings is true. They are accepted when equal to shared.weight (one of them stands in
// for shared.weight when that key is absent) and rejected, by name, when they differ.
#include <sstream>

#include "nlpc/core/error.h"
#include "nlpc/models/t5.h"

namespace nlpc::models {
namespace {

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream s;
  s << "[";
  for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
  s << "]";
  return s.str();
}

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

// Small strict loader (every key used, every parameter present, shapes equal, nothing copied on
// error). To be replaced by models::load_state_dict_strict from checkpoint.h once merged.
static void strict_copy(torch::nn::Module& module, const T5StateDict& weights, const std::string& source,
                        std::vector<std::string> problems) {
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : module.named_parameters(true)) targets[p.key()] = p.value();
  for (const auto& b : module.named_buffers(true)) targets[b.key()] = b.value();
  for (const auto& [name, t] : targets) {
    auto it = weights.find(name);
    if (it == weights.end()) {
      problems.push_back("missing key " + name + " (expected shape " + shape_str(t) + ")");
    } else if (it->second.sizes() != t.sizes()) {
      problems.push_back("shape mismatch for " + name + ": expected " + shape_str(t) + ", got " +
                         shape_str(it->second));
    }
  }
  for (const auto& [name, t] : weights)
    if (!targets.count(name)) problems.push_back("unexpected key " + name + " " + shape_str(t));
  if (!problems.empty()) {
    std::string msg = "cannot load T5 weights (" + std::to_string(problems.size()) + " problems):";
    for (const auto& p : problems) msg += "\n  " + p;
    msg += "\nCheck that config.json matches the checkpoint.";
    throw InputError(source, 0, 0, msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : targets) t.copy_(weights.at(name));
}

void T5ForConditionalGenerationImpl::load_state(const T5StateDict& weights, const std::string& source) {
  std::vector<std::string> problems;
  auto resolved = resolve_aliases(weights, config_.tie_word_embeddings, source, problems);
  strict_copy(*this, resolved, source, problems);
}

}  // namespace nlpc::models
