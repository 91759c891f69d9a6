// transformers' key fix-ups on load (see include/nlpc/models/hf_keys.h). Follows
// PreTrainedModel._load_pretrained_model / _fix_key of transformers 4.x, reimplemented.
#include "nlpc/models/hf_keys.h"

#include "nlpc/core/strings.h"

namespace nlpc::models {
namespace {

bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::string renamed_key(const std::string& k, int& renamed) {
  if (ends_with(k, ".gamma")) {
    ++renamed;
    return k.substr(0, k.size() - 6) + ".weight";
  }
  if (ends_with(k, ".beta")) {
    ++renamed;
    return k.substr(0, k.size() - 5) + ".bias";
  }
  return k;
}

}  // namespace

StateDict adapt_hf_keys(StateDict weights, const std::string& prefix, const std::set<std::string>& expected,
                        KeyReport* report) {
  KeyReport local;
  KeyReport& r = report ? *report : local;
  StateDict renamed;
  for (auto& [k, t] : weights) {
    std::string key = renamed_key(k, r.renamed);
    if (ends_with(key, "position_ids") && !expected.count(key) && !expected.count(prefix + "." + key)) {
      r.dropped.push_back(k);
      continue;
    }
    renamed[key] = std::move(t);
  }
  if (prefix.empty()) return renamed;
  const std::string p = prefix + ".";
  bool has = false, expects = false;
  for (const auto& kv : renamed) has = has || starts_with(kv.first, p);
  for (const auto& k : expected) expects = expects || starts_with(k, p);
  if (has == expects) return renamed;
  StateDict out;
  for (auto& [k, t] : renamed) {
    std::string key = k;
    if (expects && expected.count(p + k)) key = p + k;          // base model into a model with a head
    if (!expects && starts_with(k, p)) key = k.substr(p.size());  // prefixed checkpoint into a bare model
    out[key] = std::move(t);
  }
  r.prefix_change = std::string(expects ? "added '" : "removed '") + p + "'";
  return out;
}

bool is_pretraining_head(const std::string& key) {
  for (const char* head : {"cls.predictions.", "cls.seq_relationship.", "vocab_transform.", "vocab_layer_norm.",
                           "vocab_projector.", "lm_head.", "qa_outputs.", "fit_dense.", "fit_denses."}) {
    if (starts_with(key, head)) return true;
  }
  return false;
}

std::string key_list(const std::vector<std::string>& keys, size_t max_shown) {
  std::string s;
  for (size_t i = 0; i < keys.size() && i < max_shown; ++i) s += (i ? ", " : "") + keys[i];
  if (keys.size() > max_shown) s += " (and " + std::to_string(keys.size() - max_shown) + " more)";
  return s;
}

}  // namespace nlpc::models
