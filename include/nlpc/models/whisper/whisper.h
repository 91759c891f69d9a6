#pragma once
// Whisper as Hugging Face's WhisperForConditionalGeneration (transformers modeling_whisper.py):
//   encoder: conv1 (k3 s1 p1) + GELU, conv2 (k3 s2 p1) + GELU, + sinusoidal embed_positions,
//            pre-LN layers (self_attn, fc1/fc2), final layer_norm
//   decoder: embed_tokens + learned embed_positions, pre-LN layers (causal self_attn, encoder_attn,
//            fc1/fc2), final layer_norm; logits = h @ embed_tokens^T (proj_out tied)
//   attention: q/v/out_proj with bias, k_proj without bias, queries scaled by head_dim^-0.5.
// Parameter names are HF's checkpoint keys ("model.encoder.layers.0.self_attn.k_proj.weight", ...).
// Inference keeps key/value caches: self-attention K/V grow by one step per decoded token,
// cross-attention K/V are computed once per encoder output.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "nlpc/models/layers/attention.h"

namespace nlpc::models {

struct WhisperConfig {
  int64_t vocab_size = 51865;
  int64_t num_mel_bins = 80;
  int64_t d_model = 384;
  int64_t encoder_layers = 4;
  int64_t encoder_attention_heads = 6;
  int64_t encoder_ffn_dim = 1536;
  int64_t decoder_layers = 4;
  int64_t decoder_attention_heads = 6;
  int64_t decoder_ffn_dim = 1536;
  int64_t max_source_positions = 1500;
  int64_t max_target_positions = 448;
  std::string activation_function = "gelu";
  bool scale_embedding = false;  // HF's WhisperEncoder/Decoder do not apply it either
  double init_std = 0.02;
  int64_t pad_token_id = 50257;
  int64_t bos_token_id = 50257;
  int64_t eos_token_id = 50257;
  int64_t decoder_start_token_id = 50258;
  nlohmann::json raw = nlohmann::json::object();  // every key of config.json, kept on save

  // Frames of log-mel input the encoder takes: 2 * max_source_positions (3,000 for Whisper).
  int64_t input_frames() const { return 2 * max_source_positions; }
};

// config.json -> WhisperConfig (HF defaults for absent keys). `file` names it in errors; a
// model_type other than "whisper" or an activation other than gelu is an InputError.
WhisperConfig parse_whisper_config(const nlohmann::json& j, const std::string& file);
// <dir>/config.json (or `path` itself when it is a file).
WhisperConfig load_whisper_config(const std::string& path);
nlohmann::json whisper_config_to_json(const WhisperConfig& c);

// Decoder caches for incremental decoding.
struct WhisperCache {
  std::vector<KVCache> self_kv;   // per decoder layer; grows by the decoded tokens
  std::vector<KVCache> cross_kv;  // per decoder layer; from the encoder output, computed once
  int64_t length() const;           // tokens already in the self-attention cache
  // Keeps the batch rows in `index` (beam search): every cached tensor index_select'ed on dim 0.
  void reorder(const torch::Tensor& index);
  void clear();
};

// Whisper's attention options: q/v/out_proj with bias, k_proj without, queries scaled by
// head_dim^-0.5, `causal` for the decoder's self-attention.
AttentionOptions whisper_attention_options(int64_t d_model, int64_t heads, bool causal);

class WhisperEncoderLayerImpl : public torch::nn::Module {
 public:
  WhisperEncoderLayerImpl(const WhisperConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // x: [batch, src, d_model]
  MultiHeadAttention self_attn{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm{nullptr}, final_layer_norm{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(WhisperEncoderLayer);

class WhisperDecoderLayerImpl : public torch::nn::Module {
 public:
  WhisperDecoderLayerImpl(const WhisperConfig& c);
  // x: [batch, time, d_model], encoder_out: [batch, src, d_model]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& encoder_out,
                        KVCache* self_cache = nullptr, KVCache* cross_cache = nullptr);
  MultiHeadAttention self_attn{nullptr}, encoder_attn{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm{nullptr}, encoder_attn_layer_norm{nullptr},
      final_layer_norm{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(WhisperDecoderLayer);

class WhisperEncoderImpl : public torch::nn::Module {
 public:
  WhisperEncoderImpl(const WhisperConfig& c);
  // features: [batch, n_mels, 2 * max_source_positions] -> [batch, max_source_positions, d_model]
  torch::Tensor forward(const torch::Tensor& features);
  torch::nn::Conv1d conv1{nullptr}, conv2{nullptr};
  torch::nn::Embedding embed_positions{nullptr};
  torch::nn::ModuleList layers;
  torch::nn::LayerNorm layer_norm{nullptr};

 private:
  WhisperConfig config_;
};
TORCH_MODULE(WhisperEncoder);

class WhisperDecoderImpl : public torch::nn::Module {
 public:
  WhisperDecoderImpl(const WhisperConfig& c);
  // tokens: [batch, time] int64 -> hidden [batch, time, d_model]; positions start at the cache length.
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& encoder_out,
                        WhisperCache* cache = nullptr);
  torch::nn::Embedding embed_tokens{nullptr}, embed_positions{nullptr};
  torch::nn::ModuleList layers;
  torch::nn::LayerNorm layer_norm{nullptr};

 private:
  WhisperConfig config_;
};
TORCH_MODULE(WhisperDecoder);

class WhisperModelImpl : public torch::nn::Module {
 public:
  WhisperModelImpl(const WhisperConfig& c);
  WhisperEncoder encoder{nullptr};
  WhisperDecoder decoder{nullptr};
};
TORCH_MODULE(WhisperModel);

// WhisperForConditionalGeneration. Parameters: "model.encoder.*", "model.decoder.*"; "proj_out.weight"
// is tied to "model.decoder.embed_tokens.weight" and is not a separate parameter.
class WhisperForConditionalGenerationImpl : public torch::nn::Module {
 public:
  explicit WhisperForConditionalGenerationImpl(const WhisperConfig& c);

  // features: [batch, n_mels, frames] -> [batch, max_source_positions, d_model]
  torch::Tensor encode(const torch::Tensor& features);
  // tokens: [batch, time] -> logits [batch, time, vocab] (float32).
  torch::Tensor decode(const torch::Tensor& tokens, const torch::Tensor& encoder_out,
                       WhisperCache* cache = nullptr);
  // Full teacher-forced forward: logits [batch, time, vocab].
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& decoder_input_ids);
  WhisperCache make_cache() const;

  // HF initialisation: Linear/Conv1d/Embedding weights ~ N(0, init_std), biases 0, padding row of
  // embed_tokens 0, LayerNorm 1/0, encoder embed_positions = sinusoids. Deterministic for a seed.
  void init_weights(uint64_t seed);

  // Strict loading of HF weights (every key present with the right shape, no unexpected keys;
  // "proj_out.weight" is accepted when its shape matches the tied embedding). Throws InputError
  // naming `source` with every problem listed. Values are copied into the parameters.
  void load_state(const std::map<std::string, torch::Tensor>& weights, const std::string& source);
  // Name -> tensor of every parameter and buffer (HF names, without proj_out.weight).
  std::map<std::string, torch::Tensor> state() const;

  const WhisperConfig& config() const { return config_; }
  WhisperModel model{nullptr};

 private:
  WhisperConfig config_;
};
TORCH_MODULE(WhisperForConditionalGeneration);

// HF's sinusoids(length, channels): [length, channels] = [sin(t * inv_timescales), cos(...)],
// inv_timescales = exp(-log(10000) / (channels / 2 - 1) * arange(channels / 2)).
torch::Tensor whisper_sinusoids(int64_t length, int64_t channels);

}  // namespace nlpc::models
