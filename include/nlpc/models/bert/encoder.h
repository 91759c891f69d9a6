#pragma once
// The interface every text encoder (BERT, DistilBERT) implements, so heads and the trainer do not
// depend on a concrete architecture.
#include <string>
#include <vector>

#include <torch/torch.h>

#include "nlpc/models/layers/layers.h"

namespace nlpc::models {

struct EncoderOutput {
  torch::Tensor last_hidden;  // [batch, seq, hidden]
  torch::Tensor pooled;       // [batch, hidden]: BERT's pooler (tanh(dense(h[:, 0]))); undefined for DistilBERT
  // HF's output_hidden_states: embeddings output then each layer's output (num_layers + 1 entries);
  // empty unless asked for.
  std::vector<torch::Tensor> hidden_states;
};

// UsageError unless seq <= max_positions (the input must be truncated to max_length).
void check_sequence_length(int64_t seq, int64_t max_positions);

// The layer stack shared by the encoders: embeddings output `x` -> every layer (each
// layer->forward(x, bias) with the padding bias of attention_mask) -> out.last_hidden, collecting
// HF's hidden_states when asked. x: [batch, seq, hidden].
template <typename LayerList>
void run_encoder_layers(LayerList& layers, torch::Tensor x, const torch::Tensor& attention_mask,
                        bool want_hidden_states, EncoderOutput& out);

class Encoder : public torch::nn::Module {
 public:
  // input_ids: [batch, seq] int64; attention_mask: [batch, seq] (1 token, 0 padding) or undefined
  // (all tokens); token_type_ids: [batch, seq] int64 or undefined (zeros; ignored by DistilBERT).
  virtual EncoderOutput encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                               const torch::Tensor& token_type_ids, bool want_hidden_states) = 0;
  virtual int64_t hidden_size() const = 0;
  // HF key prefix of this encoder inside a task model: "bert" or "distilbert".
  virtual std::string prefix() const = 0;
  // HF random initialisation (see hf_init_weights), plus DistilBERT's sinusoidal positions.
  virtual void init_weights() = 0;
};

template <typename LayerList>
void run_encoder_layers(LayerList& layers, torch::Tensor x, const torch::Tensor& attention_mask,
                        bool want_hidden_states, EncoderOutput& out) {
  if (want_hidden_states) out.hidden_states.push_back(x);
  const torch::Tensor bias = attention_bias(attention_mask, x.scalar_type());  // [batch, 1, 1, seq]
  for (auto& layer : layers) {
    x = layer->forward(x, bias);
    if (want_hidden_states) out.hidden_states.push_back(x);
  }
  out.last_hidden = x;
}

}  // namespace nlpc::models
