#include "nlpc/models/layers/layers.h"

#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include "nlpc/core/error.h"
#include "nlpc/core/system.h"
#include "nlpc/models/layers/int8.h"

namespace nlpc::models {
namespace {

torch::Tensor gelu_tanh_formula(const torch::Tensor& x) {
  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), transformers' NewGELUActivation
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + torch::tanh(k * (x + 0.044715 * torch::pow(x, 3.0))));
}

struct NamedActivation {
  const char* name;
  Activation fn;
};

const std::vector<NamedActivation>& activations() {
  static const std::vector<NamedActivation> table = {
      {"gelu", [](const torch::Tensor& x) { return torch::gelu(x); }},
      {"gelu_python", [](const torch::Tensor& x) { return x * 0.5 * (1.0 + torch::erf(x / std::sqrt(2.0))); }},
      {"gelu_new", gelu_tanh_formula},
      {"gelu_accurate", gelu_tanh_formula},
      {"gelu_pytorch_tanh", [](const torch::Tensor& x) { return torch::gelu(x, "tanh"); }},
      {"gelu_fast",
       [](const torch::Tensor& x) { return 0.5 * x * (1.0 + torch::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))); }},
      {"quick_gelu", [](const torch::Tensor& x) { return x * torch::sigmoid(1.702 * x); }},
      {"relu", [](const torch::Tensor& x) { return torch::relu(x); }},
      {"relu2", [](const torch::Tensor& x) { return torch::square(torch::relu(x)); }},
      {"relu6", [](const torch::Tensor& x) { return torch::clamp(x, 0.0, 6.0); }},
      {"leaky_relu", [](const torch::Tensor& x) { return torch::leaky_relu(x, 0.01); }},
      {"silu", [](const torch::Tensor& x) { return torch::silu(x); }},
      {"swish", [](const torch::Tensor& x) { return torch::silu(x); }},
      {"mish", [](const torch::Tensor& x) { return torch::mish(x); }},
      {"tanh", [](const torch::Tensor& x) { return torch::tanh(x); }},
      {"sigmoid", [](const torch::Tensor& x) { return torch::sigmoid(x); }},
      {"linear", [](const torch::Tensor& x) { return x; }},
  };
  return table;
}

}  // namespace

// Inference fast paths (no autograd, float32 on the CPU, several libtorch threads, OpenBLAS): the
// work is split over libtorch's thread pool (rows of a GEMM, or (batch, head) attention problems)
// and each worker calls a single-threaded GEMM. For the small matrices of bert-mini-sized models
// this beats one multi-threaded BLAS call per op (thread hand-offs and spinning BLAS threads), and
// attention then needs neither head-major copies of q/k/v nor a [batch, heads, seq, seq] buffer.
// Results equal the plain path's up to floating-point summation order.
bool fast_inference(const torch::Tensor& x) {
  return !torch::GradMode::is_enabled() && x.device().is_cpu() && x.scalar_type() == torch::kFloat &&
         at::get_num_threads() > 1 && !at::in_parallel_region() && blas_threads_controllable();
}

// y = x2 w^T (+ b) for x2 [rows, in], by row blocks in parallel.
torch::Tensor parallel_linear(const torch::Tensor& x2, const torch::Tensor& w, const torch::Tensor& b) {
  const int64_t rows = x2.size(0);
  torch::Tensor y = torch::empty({rows, w.size(0)}, x2.options());
  const torch::Tensor wt = w.t();
  BlasThreadsScope single(1);
  const at::ThreadLocalState state;  // grad / inference mode of the caller, for the OpenMP workers
  at::parallel_for(0, rows, 32, [&](int64_t begin, int64_t end) {
    at::ThreadLocalStateGuard guard(state);
    torch::Tensor out = y.narrow(0, begin, end - begin);
    torch::Tensor in = x2.narrow(0, begin, end - begin);
    if (b.defined()) {
      at::addmm_out(out, b, in, wt);
    } else {
      at::mm_out(out, in, wt);
    }
  });
  return y;
}

// Row-parallel GEMMs only pay for small weights: every worker packs the whole weight matrix, so
// for BERT-base-sized layers (768 x 3072) OpenBLAS's own threading is faster (measured: bert-mini
// 256 x 1024 gains ~25 %, BERT-base loses ~35 %).
constexpr int64_t kMaxRowParallelWeight = 256 * 1024;
bool use_parallel_linear(const torch::Tensor& x2, const torch::Tensor& w) {
  return w.numel() <= kMaxRowParallelWeight && x2.size(0) >= 64 && fast_inference(x2);
}

torch::Tensor maybe_dropout(const torch::Tensor& x, double p, bool training) {
  return training && p > 0 ? torch::dropout(x, p, true) : x;
}

std::string supported_activations() {
  std::string s;
  for (const auto& a : activations()) s += std::string(s.empty() ? "" : ", ") + a.name;
  return s;
}

Activation make_activation(const std::string& name, const std::string& file) {
  for (const auto& a : activations()) {
    if (name == a.name) return a.fn;
  }
  throw InputError(file, 0, 0, "unsupported activation '" + name + "' (supported: " + supported_activations() + ")");
}

torch::Tensor attention_bias(const torch::Tensor& attention_mask, torch::Dtype dtype) {
  if (!attention_mask.defined()) return {};
  // mask: [batch, seq] -> bias: [batch, 1, 1, seq], (1 - mask) * finfo(dtype).min
  const double min = dtype == torch::kDouble   ? std::numeric_limits<double>::lowest()
                     : dtype == torch::kHalf   ? -65504.0
                     : dtype == torch::kBFloat16 ? -3.38953139e38
                                               : static_cast<double>(std::numeric_limits<float>::lowest());
  torch::Tensor m = attention_mask.to(dtype).unsqueeze(1).unsqueeze(2);
  return (1.0 - m) * min;
}

torch::Tensor layer_norm_forward(const torch::Tensor& x, const torch::nn::LayerNorm& ln) {
  return torch::layer_norm(x, ln->options.normalized_shape(), ln->weight, ln->bias, ln->options.eps());
}

namespace {
torch::Tensor linear_impl(const torch::Tensor& x, const torch::nn::Linear& layer, bool gelu) {
  // x: [..., in] -> [..., out]
  const auto& w = layer->weight;
  const auto& b = layer->bias;
  auto sizes = x.sizes().vec();
  torch::Tensor x2 = x.reshape({-1, sizes.back()});
  if (int8::is_int8(layer)) {
    sizes.back() = w.size(0);
    return int8::linear(x2, w, int8::weight_scale(layer), b, gelu).view(sizes);
  }
  torch::Tensor y = use_parallel_linear(x2, w)     ? parallel_linear(x2, w, b)
                    : b.defined()            ? torch::addmm(b, x2, w.t())
                                             : torch::mm(x2, w.t());
  if (gelu) y = at::gelu_out(y, y);
  sizes.back() = w.size(0);
  return y.view(sizes);
}
}  // namespace

torch::Tensor linear_forward(const torch::Tensor& x, const torch::nn::Linear& layer) {
  return linear_impl(x, layer, false);
}

torch::Tensor linear_gelu_forward(const torch::Tensor& x, const torch::nn::Linear& layer) {
  TORCH_CHECK(!torch::GradMode::is_enabled(), "linear_gelu_forward is for inference (no autograd)");
  return linear_impl(x, layer, true);
}

torch::Tensor apply_linear(const torch::Tensor& x, const torch::nn::Linear& layer) {
  // torch::linear is LinearImpl::forward
  return int8::is_int8(layer) ? linear_forward(x, layer)
                              : torch::linear(x, layer->weight, layer->bias);
}

torch::Tensor apply_linear_gelu(const torch::Tensor& x, const torch::nn::Linear& layer) {
  if (int8::is_int8(layer) && !torch::GradMode::is_enabled()) return linear_impl(x, layer, true);
  return torch::gelu(apply_linear(x, layer));
}

void hf_init_weights(torch::nn::Module& module, double std) {
  torch::NoGradGuard no_grad;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, std);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = m->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, std);
      if (emb->options.padding_idx()) emb->weight[*emb->options.padding_idx()].zero_();
    } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
}

}  // namespace nlpc::models
