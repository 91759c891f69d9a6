#include "nlpc/tasks/summarization/summarizer.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>

#include "nlpc/tasks/encoding.h"
#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/progress.h"
#include "nlpc/models/registry.h"
#include "nlpc/core/signals.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/device.h"
#include "nlpc/models/layers/int8.h"

namespace nlpc {
namespace fs = std::filesystem;

std::string model_source_prefix(const std::string& dir) {
  const std::string path = (fs::path(dir) / "config.json").string();
  if (!file_exists(path)) return "";
  const nlohmann::json j = read_json_file(path);
  if (j.contains("nlpc_source_prefix") && j["nlpc_source_prefix"].is_string()) {
    return j["nlpc_source_prefix"].get<std::string>();
  }
  const auto tsp = j.find("task_specific_params");
  if (tsp != j.end() && tsp->is_object() && tsp->contains("summarization")) {
    const auto& s = (*tsp)["summarization"];
    if (s.is_object() && s.contains("prefix") && s["prefix"].is_string()) return s["prefix"].get<std::string>();
  }
  return "";
}

void Summarizer::save_weights(const std::string& file) const {
  models::save_safetensors(file, model_->hf_state_dict());
}

Summarizer::Summarizer(const std::string& dir, const std::string& device, const std::string& precision) {
  if (!file_exists((fs::path(dir) / "config.json").string())) {
    throw InputError(dir, 0, 0, "not a model folder: config.json is missing");
  }
  const nlohmann::json cfg = models::read_model_config(dir);
  if (cfg.value("model_type", std::string()) != "t5") {
    throw InputError((fs::path(dir) / "config.json").string(), 0, 0,
                     "--task summarize needs a T5 model (model_type \"t5\"), this folder has model_type \"" +
                         cfg.value("model_type", std::string("?")) + "\"");
  }
  device_ = resolve_device(device);
  model_ = models::load_t5(dir, precision);
  models::int8::check_device(*model_, device_);
  model_->to(device_);
  model_->eval();
  tok_ = text::load_tokenizer(dir);
  if (static_cast<int64_t>(tok_->vocab_size()) > model_->config().vocab_size) {
    throw InputError(dir, 0, 0,
                     "the tokenizer has " + std::to_string(tok_->vocab_size()) + " tokens but the model only " +
                         std::to_string(model_->config().vocab_size) + " embeddings");
  }
  gen_ = models::load_generation_options(dir);
  prefix_ = model_source_prefix(dir);
  max_length_ = model_max_length(dir, 512);
}

int64_t Summarizer::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : model_->parameters()) n += p.numel();
  return n;
}

std::vector<std::string> Summarizer::summarize(const std::vector<std::string>& texts, const models::GenerationOptions& g,
                                               size_t batch_size, bool progress) {
  g.validate();
  batch_size = std::max<size_t>(1, batch_size);
  const int64_t pad = g.pad_token_id.value_or(model_->config().pad_token_id);
  const int64_t eos = g.eos_token_id.value_or(model_->config().eos_token_id);
  std::vector<std::vector<int32_t>> enc(texts.size());
  text::EncodeOptions eo;
  eo.max_length = max_length_;
  eo.with_tokens = false;
  for (size_t i = 0; i < texts.size(); ++i) enc[i] = tok_->encode(prefix_ + texts[i], eo).ids;
  std::vector<size_t> order(texts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return enc[a].size() < enc[b].size(); });

  std::vector<std::string> out(texts.size());
  std::unique_ptr<ProgressBar> bar;
  if (progress) bar = std::make_unique<ProgressBar>("generate", static_cast<int64_t>(texts.size()), "texts");
  torch::NoGradGuard no_grad;
  for (size_t start = 0; start < order.size(); start += batch_size) {
    check_interrupted();
    const size_t end = std::min(order.size(), start + batch_size);
    size_t len = 1;
    for (size_t i = start; i < end; ++i) len = std::max(len, enc[order[i]].size());
    const auto b = static_cast<int64_t>(end - start);
    torch::Tensor ids = torch::full({b, static_cast<int64_t>(len)}, pad, torch::kInt64);
    torch::Tensor mask = torch::zeros({b, static_cast<int64_t>(len)}, torch::kInt64);
    for (size_t i = start; i < end; ++i) {
      const auto& e = enc[order[i]];
      auto* pi = ids.data_ptr<int64_t>() + static_cast<int64_t>(i - start) * static_cast<int64_t>(len);
      auto* pm = mask.data_ptr<int64_t>() + static_cast<int64_t>(i - start) * static_cast<int64_t>(len);
      for (size_t t = 0; t < e.size(); ++t) pi[t] = e[t], pm[t] = 1;
    }
    torch::Tensor gen = models::generate(*model_, ids.to(device_), mask.to(device_), g).to(torch::kCPU).contiguous();
    for (int64_t r = 0; r < b; ++r) {
      std::vector<int32_t> row;
      const auto* p = gen.data_ptr<int64_t>() + r * gen.size(1);
      for (int64_t t = 1; t < gen.size(1); ++t) {  // position 0 is the decoder start token
        if (p[t] == eos) break;
        if (p[t] != pad) row.push_back(static_cast<int32_t>(p[t]));
      }
      out[order[start + static_cast<size_t>(r)]] = tok_->decode(row, true);
    }
    if (bar) bar->update(static_cast<int64_t>(end));
  }
  if (bar) bar->finish();
  return out;
}

void apply_overrides(models::GenerationOptions& g, const GenerationOverrides& o) {
  if (o.num_beams) g.num_beams = *o.num_beams;
  if (o.max_new_tokens) g.max_new_tokens = *o.max_new_tokens;
  if (o.min_length) g.min_length = *o.min_length;
  if (o.no_repeat_ngram_size) g.no_repeat_ngram_size = *o.no_repeat_ngram_size;
  if (o.top_k) g.top_k = *o.top_k;
  if (o.length_penalty) g.length_penalty = *o.length_penalty;
  if (o.temperature) g.temperature = *o.temperature;
  if (o.top_p) g.top_p = *o.top_p;
  if (o.do_sample) g.do_sample = *o.do_sample;
  if (o.seed) g.seed = *o.seed;
  g.validate();
}

void write_summarizer_files(const std::string& dir, const std::string& tokenizer_dir, int64_t max_length,
                            const std::string& source_prefix, const models::GenerationOptions& gen) {
  if (!tokenizer_dir.empty() && !(fs::exists(tokenizer_dir) && fs::equivalent(tokenizer_dir, dir))) {
    for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "spiece.model",
                             "added_tokens.json"}) {
      const fs::path src = fs::path(tokenizer_dir) / name;
      if (fs::exists(src)) write_file_atomic((fs::path(dir) / name).string(), read_file(src.string()));
    }
  }
  set_model_max_length(dir, max_length);
  const std::string cpath = (fs::path(dir) / "config.json").string();
  nlohmann::json c = read_json_file(cpath);
  c["nlpc_source_prefix"] = source_prefix;
  c["task_specific_params"]["summarization"]["prefix"] = source_prefix;
  write_file_atomic(cpath, c.dump(2) + "\n");
  nlohmann::json g = {{"decoder_start_token_id", gen.decoder_start_token_id.value_or(0)},
                      {"eos_token_id", gen.eos_token_id.value_or(1)},
                      {"pad_token_id", gen.pad_token_id.value_or(0)},
                      {"num_beams", gen.num_beams},
                      {"do_sample", gen.do_sample},
                      {"min_length", gen.min_length},
                      {"length_penalty", gen.length_penalty},
                      {"no_repeat_ngram_size", gen.no_repeat_ngram_size}};
  if (gen.max_new_tokens >= 0) g["max_new_tokens"] = gen.max_new_tokens; else g["max_length"] = gen.max_length;
  write_file_atomic((fs::path(dir) / "generation_config.json").string(), g.dump(2) + "\n");
}

}  // namespace nlpc
