#pragma once
// T5 encoder-decoder as Hugging Face's T5ForConditionalGeneration (transformers/models/t5/modeling_t5.py):
// shared token embeddings, bucketed relative position bias computed in the first layer of each stack
// and reused by the others (bidirectional in the encoder, causal in the decoder), RMS layer norm with
// fp32 variance, no biases, no 1/sqrt(d_kv) attention scaling, relu / gated-gelu feed-forward, tied
// output embeddings rescaled by d_model**-0.5 (or a separate lm_head). Submodule names are the HF
// checkpoint keys ("encoder.block.0.layer.0.SelfAttention.q.weight", ...), so state dicts load and
// save without a mapping table.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "nlpc/models/layers/attention.h"

namespace nlpc::models {

// transformers.T5Config with its defaults (t5-small shapes).
struct T5Config {
  int64_t vocab_size = 32128;
  int64_t d_model = 512;
  int64_t d_kv = 64;
  int64_t d_ff = 2048;
  int64_t num_layers = 6;
  int64_t num_decoder_layers = 6;  // config.json null/absent: num_layers
  int64_t num_heads = 8;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double dropout_rate = 0.1;
  double layer_norm_epsilon = 1e-6;
  double initializer_factor = 1.0;
  std::string feed_forward_proj = "relu";  // "relu" | "gelu" | "gated-gelu" | "gated-silu" | ...
  bool tie_word_embeddings = true;
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;
  std::optional<int64_t> decoder_start_token_id;  // HF: None unless config.json sets it (T5: 0)
  nlohmann::json raw = nlohmann::json::object();  // the parsed config.json, kept for saving

  // Derived from feed_forward_proj exactly as T5Config.__init__ does ("gated-gelu" -> gelu_new).
  bool is_gated_act() const;
  std::string dense_act_fn() const;
  int64_t inner_dim() const { return num_heads * d_kv; }
};

// Parses config.json content (`file` names it in errors): wrong types and an invalid
// feed_forward_proj are InputErrors naming the key.
T5Config parse_t5_config(const nlohmann::json& j, const std::string& file);
// Reads <dir>/config.json, or `path` itself when it names a file.
T5Config load_t5_config(const std::string& path);
// config.json content: `raw` updated with every typed field, model_type "t5" and architectures.
nlohmann::json t5_config_to_json(const T5Config& c);

// HF's T5Attention._relative_position_bucket. relative_position: integer tensor (memory - query).
torch::Tensor t5_relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                          int64_t num_buckets, int64_t max_distance);

// Root-mean-square layer norm without mean subtraction and without bias (T5LayerNorm).
class T5LayerNormImpl : public torch::nn::Module {
 public:
  T5LayerNormImpl(int64_t d_model, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // x: [..., d_model]
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(T5LayerNorm);

// T5's attention options: q/k/v/o without biases, no 1/sqrt(d_kv) scaling, softmax in float32,
// dropout_rate on the probabilities; `relative_bias` registers relative_attention_bias.
AttentionOptions t5_attention_options(const T5Config& c, bool relative_bias);

// T5Attention.compute_bias: [1, heads, q_len, k_len] relative position bias from `table`
// (relative_attention_bias) for queries at positions past_len.. past_len+q_len-1; bidirectional in
// the encoder, causal buckets in the decoder.
torch::Tensor t5_compute_bias(const torch::nn::Embedding& table, const T5Config& c, bool is_decoder, int64_t q_len,
                              int64_t k_len, int64_t past_len);

class T5LayerSelfAttentionImpl : public torch::nn::Module {
 public:
  T5LayerSelfAttentionImpl(const T5Config& c, bool is_decoder, bool has_relative_attention_bias);
  // x: [batch, len, d_model]; mask: additive [batch, 1, len|1, past_len+len] or undefined;
  // position_bias: [1 or batch, heads, len, past_len+len] already containing the mask, or undefined
  // (then computed here: relative bias in layer 0, zeros elsewhere, plus `mask`, and set).
  // cache: this step's keys/values are appended. Returns [batch, len, d_model].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, torch::Tensor& position_bias,
                        KVCache* cache, int64_t past_len);
  MultiHeadAttention SelfAttention{nullptr};
  T5LayerNorm layer_norm{nullptr};

 private:
  T5Config config_;
  bool is_decoder_;
};
TORCH_MODULE(T5LayerSelfAttention);

class T5LayerCrossAttentionImpl : public torch::nn::Module {
 public:
  explicit T5LayerCrossAttentionImpl(const T5Config& c);
  // x: [batch, tgt, d_model], encoder_states: [batch, src, d_model], encoder_mask: additive
  // [batch, 1, 1, src] or undefined; position_bias: set to the bias used (the mask). cache: keys and
  // values from encoder_states, computed once. Returns [batch, tgt, d_model].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& encoder_states,
                        const torch::Tensor& encoder_mask, torch::Tensor& position_bias, KVCache* cache);
  MultiHeadAttention EncDecAttention{nullptr};
  T5LayerNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(T5LayerCrossAttention);

// T5DenseActDense (wi, wo) or T5DenseGatedActDense (wi_0, wi_1, wo).
class T5DenseImpl : public torch::nn::Module {
 public:
  explicit T5DenseImpl(const T5Config& c);
  torch::Tensor forward(const torch::Tensor& x);  // x: [batch, len, d_model]
  torch::nn::Linear wi{nullptr}, wi_0{nullptr}, wi_1{nullptr}, wo{nullptr};

 private:
  std::string act_;
  double dropout_;
};
TORCH_MODULE(T5Dense);

class T5LayerFFImpl : public torch::nn::Module {
 public:
  explicit T5LayerFFImpl(const T5Config& c);
  torch::Tensor forward(const torch::Tensor& x);
  T5Dense DenseReluDense{nullptr};
  T5LayerNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(T5LayerFF);

// One decoder layer's cache: self-attention grows by one position per step, cross-attention keys and
// values are computed from the encoder states once.
struct T5LayerCache {
  KVCache self_attn, cross_attn;
};

struct T5DecoderCache {
  std::vector<T5LayerCache> layers;
  int64_t past_len = 0;  // decoder positions already in the self-attention cache
  // Beam search: keeps rows `index` ([n] int64) of every self-attention cache (cross-attention
  // caches are identical within a batch item's beams and are left alone).
  void reorder(const torch::Tensor& index);
};

class T5BlockImpl : public torch::nn::Module {
 public:
  T5BlockImpl(const T5Config& c, bool is_decoder, bool has_relative_attention_bias);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, torch::Tensor& position_bias,
                        const torch::Tensor& encoder_states, const torch::Tensor& encoder_mask,
                        torch::Tensor& cross_bias, T5LayerCache* cache, int64_t past_len);
  torch::nn::ModuleList layer{nullptr};

 private:
  T5LayerSelfAttention self_{nullptr};
  T5LayerCrossAttention cross_{nullptr};
  T5LayerFF ff_{nullptr};
};
TORCH_MODULE(T5Block);

// T5Stack without its embed_tokens (shared with the parent, so it is not a registered child).
class T5StackImpl : public torch::nn::Module {
 public:
  T5StackImpl(const T5Config& c, bool is_decoder);
  // embeds: [batch, len, d_model] (token embeddings); mask: [batch, len] 1/0 (undefined = all ones).
  // Decoder: encoder_states [batch, src, d_model], encoder_mask [batch, src]. Returns [batch, len, d_model].
  torch::Tensor forward(const torch::Tensor& embeds, const torch::Tensor& mask,
                        const torch::Tensor& encoder_states = {}, const torch::Tensor& encoder_mask = {},
                        T5DecoderCache* cache = nullptr);
  torch::nn::ModuleList block{nullptr};
  T5LayerNorm final_layer_norm{nullptr};

 private:
  std::vector<T5Block> blocks_;
  bool is_decoder_;
  double dropout_;
};
TORCH_MODULE(T5Stack);

using T5StateDict = std::map<std::string, torch::Tensor>;

struct T5Output {
  torch::Tensor logits;  // [batch, tgt_len, vocab]
  torch::Tensor loss;    // scalar mean cross-entropy over labels != -100 (undefined without labels)
  torch::Tensor encoder_last_hidden_state;  // [batch, src_len, d_model]
};

class T5ForConditionalGenerationImpl : public torch::nn::Module {
 public:
  explicit T5ForConditionalGenerationImpl(T5Config c);

  // input_ids: [batch, src]; attention_mask: [batch, src] (1 = token, 0 = padding; undefined = all ones).
  torch::Tensor encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);
  // decoder_ids: [batch, tgt] (only the new positions when `cache` holds earlier ones);
  // decoder_mask: [batch, past+tgt] or undefined. Returns logits [batch, tgt, vocab].
  torch::Tensor decode(const torch::Tensor& decoder_ids, const torch::Tensor& encoder_states,
                       const torch::Tensor& encoder_mask, const torch::Tensor& decoder_mask = {},
                       T5DecoderCache* cache = nullptr);
  // Teacher forcing: decoder inputs are shift_right(labels) unless given; labels -100 are ignored.
  T5Output forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                   const torch::Tensor& labels, const torch::Tensor& decoder_input_ids = {},
                   const torch::Tensor& decoder_attention_mask = {});
  // HF's _shift_right: prepend decoder_start_token_id, drop the last label, -100 -> pad_token_id.
  torch::Tensor shift_right(const torch::Tensor& labels) const;
  T5DecoderCache new_cache() const;

  // Strict loading of a HF state dict (see t5_load.cpp for the accepted aliases). Throws InputError
  // naming `source` with every missing/unexpected key and shape mismatch; copies nothing on error.
  void load_state(const T5StateDict& weights, const std::string& source);
  // Parameters under their HF names, with lm_head.weight present (the shared matrix when tied), as
  // transformers' save_pretrained writes T5 (it drops encoder/decoder.embed_tokens aliases).
  T5StateDict hf_state_dict() const;
  const T5Config& config() const { return config_; }

  torch::nn::Embedding shared{nullptr};
  T5Stack encoder{nullptr}, decoder{nullptr};
  torch::nn::Linear lm_head{nullptr};  // registered only when !tie_word_embeddings

 private:
  T5Config config_;
};
TORCH_MODULE(T5ForConditionalGeneration);

// Builds a T5 from a HF folder: config.json + weights (model.safetensors / shards / pytorch_model.bin),
// loaded strictly. float32, CPU; move with ->to(device) afterwards.
// precision: "auto" (as stored), "fp32" or "int8" (nlpc/models/layers/int8.h).
T5ForConditionalGeneration load_t5(const std::string& dir, const std::string& precision = "auto");

// Writes a HF folder: config.json (t5_config_to_json) and model.safetensors (hf_state_dict), both
// atomically; `dir` is created when missing. Loads back with load_t5 and with transformers.
void save_t5(const T5ForConditionalGenerationImpl& model, const std::string& dir);

// HF's T5PreTrainedModel._init_weights (normal init with initializer_factor scaling), for training
// from scratch and for tests. Deterministic under torch::manual_seed.
void t5_init_weights(T5ForConditionalGenerationImpl& model);

}  // namespace nlpc::models
