// Whisper encoder-decoder (HF WhisperForConditionalGeneration). See include/nlpc/models/whisper.h.
#include "nlpc/models/whisper/whisper.h"

#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/hf_keys.h"
#include "nlpc/models/layers/layers.h"
#include "nlpc/models/registry.h"

namespace nlpc::models {
namespace {

namespace F = torch::nn::functional;

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream s;
  s << "[";
  for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
  s << "]";
  return s.str();
}

template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return;
  try {
    out = j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(file, 0, 0, std::string("config key \"") + key + "\" has the wrong type: " + j[key].dump());
  }
}

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

torch::nn::LayerNorm layer_norm(int64_t d) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5));
}

}  // namespace

WhisperConfig parse_whisper_config(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw InputError(file, 0, 0, "config.json is not a JSON object");
  WhisperConfig c;
  const std::string model_type = infer_model_type(j, file);
  if (model_type != "whisper") {
    throw InputError(file, 0, 0, "model_type is \"" + model_type + "\", expected \"whisper\"");
  }
  read_key(j, "vocab_size", c.vocab_size, file);
  read_key(j, "num_mel_bins", c.num_mel_bins, file);
  read_key(j, "d_model", c.d_model, file);
  read_key(j, "encoder_layers", c.encoder_layers, file);
  read_key(j, "encoder_attention_heads", c.encoder_attention_heads, file);
  read_key(j, "encoder_ffn_dim", c.encoder_ffn_dim, file);
  read_key(j, "decoder_layers", c.decoder_layers, file);
  read_key(j, "decoder_attention_heads", c.decoder_attention_heads, file);
  read_key(j, "decoder_ffn_dim", c.decoder_ffn_dim, file);
  read_key(j, "max_source_positions", c.max_source_positions, file);
  read_key(j, "max_target_positions", c.max_target_positions, file);
  read_key(j, "activation_function", c.activation_function, file);
  read_key(j, "scale_embedding", c.scale_embedding, file);
  read_key(j, "init_std", c.init_std, file);
  read_key(j, "pad_token_id", c.pad_token_id, file);
  read_key(j, "bos_token_id", c.bos_token_id, file);
  read_key(j, "eos_token_id", c.eos_token_id, file);
  read_key(j, "decoder_start_token_id", c.decoder_start_token_id, file);
  if (c.activation_function != "gelu") {
    throw InputError(file, 0, 0, "activation_function \"" + c.activation_function +
                                     "\" is not supported for Whisper (expected \"gelu\")");
  }
  if (c.d_model % c.encoder_attention_heads != 0 || c.d_model % c.decoder_attention_heads != 0) {
    throw InputError(file, 0, 0, "d_model " + std::to_string(c.d_model) +
                                     " is not divisible by the number of attention heads");
  }
  c.raw = j;
  return c;
}

WhisperConfig load_whisper_config(const std::string& path) {
  std::string file = path;
  if (std::filesystem::is_directory(path)) file = (std::filesystem::path(path) / "config.json").string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(file, 0, 0, std::string("invalid JSON: ") + e.what());
  }
  return parse_whisper_config(j, file);
}

nlohmann::json whisper_config_to_json(const WhisperConfig& c) {
  nlohmann::json j = c.raw.is_object() ? c.raw : nlohmann::json::object();
  j["model_type"] = "whisper";
  if (!j.contains("architectures")) j["architectures"] = {"WhisperForConditionalGeneration"};
  j["vocab_size"] = c.vocab_size;
  j["num_mel_bins"] = c.num_mel_bins;
  j["d_model"] = c.d_model;
  j["encoder_layers"] = c.encoder_layers;
  j["encoder_attention_heads"] = c.encoder_attention_heads;
  j["encoder_ffn_dim"] = c.encoder_ffn_dim;
  j["decoder_layers"] = c.decoder_layers;
  j["decoder_attention_heads"] = c.decoder_attention_heads;
  j["decoder_ffn_dim"] = c.decoder_ffn_dim;
  j["num_hidden_layers"] = c.encoder_layers;
  j["max_source_positions"] = c.max_source_positions;
  j["max_target_positions"] = c.max_target_positions;
  j["activation_function"] = c.activation_function;
  j["scale_embedding"] = c.scale_embedding;
  j["init_std"] = c.init_std;
  j["pad_token_id"] = c.pad_token_id;
  j["bos_token_id"] = c.bos_token_id;
  j["eos_token_id"] = c.eos_token_id;
  j["decoder_start_token_id"] = c.decoder_start_token_id;
  j["is_encoder_decoder"] = true;
  return j;
}

// ---- caches ----

int64_t WhisperCache::length() const { return self_kv.empty() ? 0 : self_kv[0].length(); }

void WhisperCache::reorder(const torch::Tensor& index) {
  for (auto* kvs : {&self_kv, &cross_kv}) {
    for (auto& kv : *kvs) kv.reorder(index);
  }
}

void WhisperCache::clear() {
  for (auto& kv : self_kv) kv.clear();
  for (auto& kv : cross_kv) kv.clear();
}

// ---- attention ----

AttentionOptions whisper_attention_options(int64_t d_model, int64_t heads, bool causal) {
  AttentionOptions a;
  a.hidden_size = d_model;
  a.num_heads = heads;
  a.q_name = "q_proj";
  a.k_name = "k_proj";
  a.v_name = "v_proj";
  a.out_name = "out_proj";
  a.k_bias = false;
  a.causal = causal;
  a.register_kvq = true;
  return a;
}

// ---- layers ----

WhisperEncoderLayerImpl::WhisperEncoderLayerImpl(const WhisperConfig& c) {
  self_attn = register_module("self_attn",
                              MultiHeadAttention(whisper_attention_options(c.d_model, c.encoder_attention_heads, false)));
  self_attn_layer_norm = register_module("self_attn_layer_norm", layer_norm(c.d_model));
  fc1 = register_module("fc1", linear(c.d_model, c.encoder_ffn_dim, true));
  fc2 = register_module("fc2", linear(c.encoder_ffn_dim, c.d_model, true));
  final_layer_norm = register_module("final_layer_norm", layer_norm(c.d_model));
}

torch::Tensor WhisperEncoderLayerImpl::forward(const torch::Tensor& x) {
  // x: [b, s, d]
  auto h = x + self_attn->forward(self_attn_layer_norm(x));
  return h + apply_linear(apply_linear_gelu(final_layer_norm(h), fc1), fc2);
}

WhisperDecoderLayerImpl::WhisperDecoderLayerImpl(const WhisperConfig& c) {
  self_attn = register_module("self_attn",
                              MultiHeadAttention(whisper_attention_options(c.d_model, c.decoder_attention_heads, true)));
  self_attn_layer_norm = register_module("self_attn_layer_norm", layer_norm(c.d_model));
  encoder_attn = register_module(
      "encoder_attn", MultiHeadAttention(whisper_attention_options(c.d_model, c.decoder_attention_heads, false)));
  encoder_attn_layer_norm = register_module("encoder_attn_layer_norm", layer_norm(c.d_model));
  fc1 = register_module("fc1", linear(c.d_model, c.decoder_ffn_dim, true));
  fc2 = register_module("fc2", linear(c.decoder_ffn_dim, c.d_model, true));
  final_layer_norm = register_module("final_layer_norm", layer_norm(c.d_model));
}

torch::Tensor WhisperDecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& encoder_out,
                                               KVCache* self_cache, KVCache* cross_cache) {
  // x: [b, t, d], encoder_out: [b, s, d]
  auto h = x + self_attn->forward(self_attn_layer_norm(x), {}, self_cache);
  h = h + encoder_attn->forward(encoder_attn_layer_norm(h), {}, cross_cache, encoder_out);
  return h + apply_linear(apply_linear_gelu(final_layer_norm(h), fc1), fc2);
}

// ---- encoder / decoder ----

WhisperEncoderImpl::WhisperEncoderImpl(const WhisperConfig& c) : config_(c) {
  conv1 = register_module("conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(c.num_mel_bins, c.d_model, 3).padding(1)));
  conv2 = register_module("conv2", torch::nn::Conv1d(torch::nn::Conv1dOptions(c.d_model, c.d_model, 3).stride(2).padding(1)));
  embed_positions = register_module("embed_positions", torch::nn::Embedding(c.max_source_positions, c.d_model));
  embed_positions->weight.set_requires_grad(false);
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.encoder_layers; ++i) layers->push_back(WhisperEncoderLayer(c));
  layer_norm = register_module("layer_norm", nlpc::models::layer_norm(c.d_model));
}

torch::Tensor WhisperEncoderImpl::forward(const torch::Tensor& features) {
  // features: [b, n_mels, frames]
  if (features.dim() != 3 || features.size(1) != config_.num_mel_bins || features.size(2) != config_.input_frames()) {
    throw RuntimeError("Whisper encoder expects features [batch, " + std::to_string(config_.num_mel_bins) + ", " +
                       std::to_string(config_.input_frames()) + "], got " + shape_str(features));
  }
  auto x = torch::gelu(conv1(features));
  x = torch::gelu(conv2(x)).permute({0, 2, 1});  // [b, s, d]
  x = x + embed_positions->weight;
  for (auto& layer : *layers) x = layer->as<WhisperEncoderLayer>()->forward(x);
  return layer_norm(x);
}

WhisperDecoderImpl::WhisperDecoderImpl(const WhisperConfig& c) : config_(c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.d_model));
  embed_positions = register_module("embed_positions", torch::nn::Embedding(c.max_target_positions, c.d_model));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.decoder_layers; ++i) layers->push_back(WhisperDecoderLayer(c));
  layer_norm = register_module("layer_norm", nlpc::models::layer_norm(c.d_model));
}

torch::Tensor WhisperDecoderImpl::forward(const torch::Tensor& tokens, const torch::Tensor& encoder_out,
                                          WhisperCache* cache) {
  // tokens: [b, t], encoder_out: [b, s, d] -> [b, t, d]
  int64_t past = cache ? cache->length() : 0;
  int64_t t = tokens.size(1);
  if (past + t > config_.max_target_positions) {
    throw RuntimeError("Whisper decoder: " + std::to_string(past + t) + " tokens exceed max_target_positions " +
                       std::to_string(config_.max_target_positions));
  }
  auto x = embed_tokens(tokens) + embed_positions->weight.slice(0, past, past + t);
  if (cache && cache->self_kv.size() != layers->size()) {
    cache->self_kv.resize(layers->size());
    cache->cross_kv.resize(layers->size());
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    x = layers[i]->as<WhisperDecoderLayer>()->forward(x, encoder_out, cache ? &cache->self_kv[i] : nullptr,
                                                      cache ? &cache->cross_kv[i] : nullptr);
  }
  return layer_norm(x);
}

WhisperModelImpl::WhisperModelImpl(const WhisperConfig& c) {
  encoder = register_module("encoder", WhisperEncoder(c));
  decoder = register_module("decoder", WhisperDecoder(c));
}

// ---- top level ----

WhisperForConditionalGenerationImpl::WhisperForConditionalGenerationImpl(const WhisperConfig& c) : config_(c) {
  model = register_module("model", WhisperModel(c));
  init_weights(0);
}

torch::Tensor WhisperForConditionalGenerationImpl::encode(const torch::Tensor& features) {
  return model->encoder(features);
}

torch::Tensor WhisperForConditionalGenerationImpl::decode(const torch::Tensor& tokens, const torch::Tensor& encoder_out,
                                                          WhisperCache* cache) {
  // tokens: [b, t] -> logits [b, t, vocab]
  auto h = model->decoder(tokens, encoder_out, cache);
  return torch::matmul(h, model->decoder->embed_tokens->weight.t()).to(torch::kFloat32);
}

torch::Tensor WhisperForConditionalGenerationImpl::forward(const torch::Tensor& features,
                                                           const torch::Tensor& decoder_input_ids) {
  return decode(decoder_input_ids, encode(features));
}

WhisperCache WhisperForConditionalGenerationImpl::make_cache() const {
  WhisperCache c;
  c.self_kv.resize(config_.decoder_layers);
  c.cross_kv.resize(config_.decoder_layers);
  return c;
}

torch::Tensor whisper_sinusoids(int64_t length, int64_t channels) {
  if (channels % 2 != 0) throw RuntimeError("sinusoids need an even number of channels");
  double increment = std::log(10000.0) / static_cast<double>(channels / 2 - 1);
  auto inv = torch::exp(-increment * torch::arange(channels / 2, torch::kFloat32));
  auto t = torch::arange(length, torch::kFloat32).view({-1, 1}) * inv.view({1, -1});
  return torch::cat({t.sin(), t.cos()}, 1);
}

void WhisperForConditionalGenerationImpl::init_weights(uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  double std = config_.init_std;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* l = m->as<torch::nn::Linear>()) {
      l->weight.normal_(0, std, gen);
      if (l->bias.defined()) l->bias.zero_();
    } else if (auto* c = m->as<torch::nn::Conv1d>()) {
      c->weight.normal_(0, std, gen);
      if (c->bias.defined()) c->bias.zero_();
    } else if (auto* e = m->as<torch::nn::Embedding>()) {
      e->weight.normal_(0, std, gen);
    } else if (auto* n = m->as<torch::nn::LayerNorm>()) {
      n->weight.fill_(1);
      n->bias.zero_();
    }
  }
  int64_t pad = config_.pad_token_id;
  if (pad >= 0 && pad < config_.vocab_size) model->decoder->embed_tokens->weight[pad].zero_();
  model->encoder->embed_positions->weight.copy_(whisper_sinusoids(config_.max_source_positions, config_.d_model));
}

std::map<std::string, torch::Tensor> WhisperForConditionalGenerationImpl::state() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : named_parameters(true)) out[p.key()] = p.value();
  for (const auto& b : named_buffers(true)) out[b.key()] = b.value();
  return out;
}

void WhisperForConditionalGenerationImpl::load_state(const std::map<std::string, torch::Tensor>& raw,
                                                     const std::string& source) {
  std::set<std::string> expected;
  for (const auto& kv : state()) expected.insert(kv.first);
  // a WhisperModel checkpoint (keys without "model.") initialises WhisperForConditionalGeneration
  const auto weights = adapt_hf_keys(raw, find_model_family("whisper", source).prefix, expected);
  // proj_out.weight is tied to the token embedding: accepted (and ignored) when its shape matches
  auto proj = weights.find("proj_out.weight");
  if (proj != weights.end()) {
    const auto& emb = model->decoder->embed_tokens->weight;
    if (proj->second.sizes() != emb.sizes()) {
      throw InputError(source, 0, 0, "proj_out.weight: expected " + shape_str(emb) +
                                         " (tied to model.decoder.embed_tokens.weight), got " + shape_str(proj->second));
    }
  }
  load_state_dict_strict(*this, weights, source, {"proj_out.weight"});
}

}  // namespace nlpc::models
