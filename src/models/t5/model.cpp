// T5 blocks, stacks and T5ForConditionalGeneration (encode / decode with cache / teacher-forced loss).
#include <cmath>
#include <limits>

#include "nlpc/core/error.h"
#include "nlpc/models/t5/t5.h"

namespace nlpc::models {
namespace {

// (1 - keep) * finfo(float32).min, as HF's get_extended_attention_mask / invert_attention_mask.
torch::Tensor additive_mask(const torch::Tensor& keep) {
  return (1.0 - keep.to(torch::kFloat)) * std::numeric_limits<float>::lowest();
}

}  // namespace

void T5DecoderCache::reorder(const torch::Tensor& index) {
  for (auto& l : layers) l.self_attn.reorder(index);
}

// ---------------------------------------------------------------------------------------------

T5BlockImpl::T5BlockImpl(const T5Config& c, bool is_decoder, bool has_relative_attention_bias) {
  layer = register_module("layer", torch::nn::ModuleList());
  self_ = T5LayerSelfAttention(c, is_decoder, has_relative_attention_bias);
  layer->push_back(self_);
  if (is_decoder) {
    cross_ = T5LayerCrossAttention(c);
    layer->push_back(cross_);
  }
  ff_ = T5LayerFF(c);
  layer->push_back(ff_);
}

torch::Tensor T5BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask, torch::Tensor& position_bias,
                                   const torch::Tensor& encoder_states, const torch::Tensor& encoder_mask,
                                   torch::Tensor& cross_bias, T5LayerCache* cache, int64_t past_len) {
  // x: [batch, len, d_model]
  auto h = self_->forward(x, mask, position_bias, cache ? &cache->self_attn : nullptr, past_len);
  if (cross_) h = cross_->forward(h, encoder_states, encoder_mask, cross_bias, cache ? &cache->cross_attn : nullptr);
  return ff_->forward(h);
}

T5StackImpl::T5StackImpl(const T5Config& c, bool is_decoder) : is_decoder_(is_decoder), dropout_(c.dropout_rate) {
  block = register_module("block", torch::nn::ModuleList());
  const int64_t n = is_decoder ? c.num_decoder_layers : c.num_layers;
  for (int64_t i = 0; i < n; ++i) {
    blocks_.push_back(T5Block(c, is_decoder, /*has_relative_attention_bias=*/i == 0));
    block->push_back(blocks_.back());
  }
  final_layer_norm = register_module("final_layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5StackImpl::forward(const torch::Tensor& embeds, const torch::Tensor& mask,
                                   const torch::Tensor& encoder_states, const torch::Tensor& encoder_mask,
                                   T5DecoderCache* cache) {
  // embeds: [batch, len, d_model]
  const int64_t len = embeds.size(1);
  const int64_t past = cache ? cache->past_len : 0;
  torch::Tensor ext;  // additive mask: [batch, 1, 1|len, past+len]
  if (is_decoder_) {
    if (len > 1 || mask.defined()) {
      auto opts = torch::TensorOptions().dtype(torch::kLong).device(embeds.device());
      auto keys = torch::arange(past + len, opts).unsqueeze(0);        // [1, total]
      auto queries = torch::arange(past, past + len, opts).unsqueeze(1);  // [len, 1]
      auto keep = (keys <= queries).to(torch::kFloat).unsqueeze(0).unsqueeze(0);  // [1, 1, len, total]
      if (mask.defined()) keep = keep * mask.to(torch::kFloat).unsqueeze(1).unsqueeze(2);
      ext = additive_mask(keep);
    }  // a single new position with a cache sees every key: nothing to mask
  } else if (mask.defined()) {
    ext = additive_mask(mask.unsqueeze(1).unsqueeze(2));  // [batch, 1, 1, len]
  }
  torch::Tensor enc_ext;
  if (is_decoder_ && encoder_mask.defined()) enc_ext = additive_mask(encoder_mask.unsqueeze(1).unsqueeze(2));

  if (cache && cache->layers.size() != blocks_.size()) cache->layers.resize(blocks_.size());
  auto h = torch::dropout(embeds, dropout_, is_training());
  torch::Tensor position_bias, cross_bias;  // computed by the first block, reused by the others
  for (size_t i = 0; i < blocks_.size(); ++i) {
    h = blocks_[i]->forward(h, ext, position_bias, encoder_states, enc_ext, cross_bias,
                            cache ? &cache->layers[i] : nullptr, past);
  }
  h = final_layer_norm(h);
  if (cache) cache->past_len += len;
  return torch::dropout(h, dropout_, is_training());
}

// ---------------------------------------------------------------------------------------------

T5ForConditionalGenerationImpl::T5ForConditionalGenerationImpl(T5Config c) : config_(std::move(c)) {
  shared = register_module("shared", torch::nn::Embedding(config_.vocab_size, config_.d_model));
  encoder = register_module("encoder", T5Stack(config_, /*is_decoder=*/false));
  decoder = register_module("decoder", T5Stack(config_, /*is_decoder=*/true));
  if (!config_.tie_word_embeddings)
    lm_head = register_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(config_.d_model, config_.vocab_size).bias(false)));
}

torch::Tensor T5ForConditionalGenerationImpl::encode(const torch::Tensor& input_ids,
                                                     const torch::Tensor& attention_mask) {
  // input_ids: [batch, src] -> [batch, src, d_model]
  return encoder->forward(shared(input_ids), attention_mask);
}

torch::Tensor T5ForConditionalGenerationImpl::decode(const torch::Tensor& decoder_ids,
                                                     const torch::Tensor& encoder_states,
                                                     const torch::Tensor& encoder_mask,
                                                     const torch::Tensor& decoder_mask, T5DecoderCache* cache) {
  // decoder_ids: [batch, tgt]; encoder_states: [batch, src, d_model] -> logits [batch, tgt, vocab]
  auto h = decoder->forward(shared(decoder_ids), decoder_mask, encoder_states, encoder_mask, cache);
  if (config_.tie_word_embeddings) {
    h = h * std::pow(static_cast<double>(config_.d_model), -0.5);
    return torch::nn::functional::linear(h, shared->weight);
  }
  return lm_head(h);
}

torch::Tensor T5ForConditionalGenerationImpl::shift_right(const torch::Tensor& labels) const {
  if (!config_.decoder_start_token_id)
    throw InputError("config.json has no decoder_start_token_id; T5 checkpoints set it to the pad id (0)");
  // labels: [batch, tgt]
  auto shifted = torch::empty_like(labels);
  shifted.select(1, 0).fill_(*config_.decoder_start_token_id);
  if (labels.size(1) > 1) shifted.narrow(1, 1, labels.size(1) - 1).copy_(labels.narrow(1, 0, labels.size(1) - 1));
  return shifted.masked_fill(shifted == -100, config_.pad_token_id);
}

T5Output T5ForConditionalGenerationImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                                 const torch::Tensor& labels, const torch::Tensor& decoder_input_ids,
                                                 const torch::Tensor& decoder_attention_mask) {
  T5Output out;
  out.encoder_last_hidden_state = encode(input_ids, attention_mask);
  torch::Tensor dec_ids = decoder_input_ids;
  if (!dec_ids.defined()) {
    if (!labels.defined()) throw UsageError("T5 forward needs labels or decoder_input_ids");
    dec_ids = shift_right(labels);
  }
  out.logits = decode(dec_ids, out.encoder_last_hidden_state, attention_mask, decoder_attention_mask);
  if (labels.defined()) {
    out.loss = torch::nn::functional::cross_entropy(
        out.logits.reshape({-1, out.logits.size(-1)}), labels.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  }
  return out;
}

T5DecoderCache T5ForConditionalGenerationImpl::new_cache() const {
  T5DecoderCache c;
  c.layers.resize(static_cast<size_t>(config_.num_decoder_layers));
  return c;
}

T5StateDict T5ForConditionalGenerationImpl::hf_state_dict() const {
  T5StateDict out;
  for (const auto& p : named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  for (const auto& b : named_buffers(/*recurse=*/true)) out[b.key()] = b.value();
  if (config_.tie_word_embeddings) out["lm_head.weight"] = shared->weight;
  return out;
}

void t5_init_weights(T5ForConditionalGenerationImpl& m) {
  torch::NoGradGuard no_grad;
  const auto& c = m.config();
  const double f = c.initializer_factor;
  const double dm = static_cast<double>(c.d_model);
  m.shared->weight.normal_(0.0, f * 1.0);
  if (m.lm_head) m.lm_head->weight.normal_(0.0, f * 1.0);
  for (auto& item : m.named_modules()) {
    auto* mod = item.value().get();
    if (auto* ln = dynamic_cast<T5LayerNormImpl*>(mod)) {
      ln->weight.fill_(f * 1.0);
    } else if (auto* d = dynamic_cast<T5DenseImpl*>(mod)) {
      for (auto* lin : {&d->wi, &d->wi_0, &d->wi_1})
        if (*lin) (*lin)->weight.normal_(0.0, f * std::pow(dm, -0.5));
      d->wo->weight.normal_(0.0, f * std::pow(static_cast<double>(c.d_ff), -0.5));
    } else if (auto* a = dynamic_cast<MultiHeadAttentionImpl*>(mod)) {
      a->q->weight.normal_(0.0, f * std::pow(dm * c.d_kv, -0.5));
      a->k->weight.normal_(0.0, f * std::pow(dm, -0.5));
      a->v->weight.normal_(0.0, f * std::pow(dm, -0.5));
      a->out->weight.normal_(0.0, f * std::pow(static_cast<double>(c.num_heads * c.d_kv), -0.5));
      if (a->relative_attention_bias) a->relative_attention_bias->weight.normal_(0.0, f * std::pow(dm, -0.5));
    }
  }
}

}  // namespace nlpc::models
