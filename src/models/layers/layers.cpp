#include "nlpc/models/layers/layers.h"

#include <cmath>
#include <limits>

#include <ATen/Parallel.h>

#include "nlpc/core/error.h"
#include "nlpc/core/system.h"

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
  at::parallel_for(0, rows, 32, [&](int64_t begin, int64_t end) {
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
bool use_parallel_attention(const torch::Tensor& x2) { return x2.size(0) >= 64 && fast_inference(x2); }

}  // namespace

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

torch::Tensor linear_forward(const torch::Tensor& x, const torch::nn::Linear& layer) {
  // x: [..., in] -> [..., out]
  const auto& w = layer->weight;
  const auto& b = layer->bias;
  auto sizes = x.sizes().vec();
  torch::Tensor x2 = x.reshape({-1, sizes.back()});
  torch::Tensor y = use_parallel_linear(x2, w) ? parallel_linear(x2, w, b)
                    : b.defined()            ? torch::addmm(b, x2, w.t())
                                             : torch::mm(x2, w.t());
  sizes.back() = w.size(0);
  return y.view(sizes);
}

torch::Tensor FusedQKV::forward(const torch::Tensor& x, const torch::Tensor& bias, const torch::nn::Linear& q,
                                const torch::nn::Linear& k, const torch::nn::Linear& v, int64_t num_heads,
                                double dropout_p, bool training) {
  // x: [batch, seq, hidden]
  const int64_t batch = x.size(0), seq = x.size(1), hidden = x.size(2);
  const int64_t head_dim = hidden / num_heads;
  torch::Tensor w, b;
  if (torch::GradMode::is_enabled()) {
    w = torch::cat({q->weight, k->weight, v->weight}, 0);
    b = torch::cat({q->bias, k->bias, v->bias}, 0);
  } else {
    std::vector<int64_t> key;
    for (const auto* t : {&q->weight, &k->weight, &v->weight, &q->bias, &k->bias, &v->bias}) {
      key.push_back(reinterpret_cast<int64_t>(t->data_ptr()));
      key.push_back(static_cast<int64_t>(t->_version()));
    }
    key.push_back(num_heads);
    std::lock_guard<std::mutex> lock(*mutex_);
    if (key != key_ || !weight_.defined()) {
      // The 1/sqrt(head_dim) score scale is folded into the query rows of the cached weight.
      c10::InferenceMode off(false);
      const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
      weight_ = torch::cat({q->weight * scale, k->weight, v->weight}, 0);
      bias_ = torch::cat({q->bias * scale, k->bias, v->bias}, 0);
      key_ = key;
    }
    w = weight_;
    b = bias_;
  }
  const bool scaled = !torch::GradMode::is_enabled();
  const torch::Tensor x2 = x.reshape({batch * seq, hidden});
  if (scaled && use_parallel_attention(x2)) {
    // One (batch, head) problem per task: scores [seq, seq] = q k^T + mask bias, softmax in place,
    // context = probs v written straight into its [batch, seq, hidden] slot. q/k/v are strided
    // views into the fused projection (row stride 3*hidden), which BLAS takes without copies.
    const torch::Tensor qkv =
        (use_parallel_linear(x2, w) ? parallel_linear(x2, w, b) : torch::addmm(b, x2, w.t())).view({batch, seq, 3 * hidden});
    torch::Tensor ctx = torch::empty({batch, seq, hidden}, x.options());
    BlasThreadsScope single(1);
    at::parallel_for(0, batch * num_heads, 1, [&](int64_t begin, int64_t end) {
      torch::Tensor scores = torch::empty({seq, seq}, x.options());
      for (int64_t i = begin; i < end; ++i) {
        const int64_t bi = i / num_heads, h = i % num_heads;
        const torch::Tensor rows = qkv.select(0, bi);  // [seq, 3*hidden]
        const torch::Tensor qh = rows.narrow(1, h * head_dim, head_dim);
        const torch::Tensor kh = rows.narrow(1, hidden + h * head_dim, head_dim);
        const torch::Tensor vh = rows.narrow(1, 2 * hidden + h * head_dim, head_dim);
        at::mm_out(scores, qh, kh.t());
        if (bias.defined()) scores.add_(bias.select(0, bi).select(0, 0));  // [1, seq] over the rows
        at::_softmax_out(scores, scores, -1, false);
        torch::Tensor out = ctx.select(0, bi).narrow(1, h * head_dim, head_dim);
        at::mm_out(out, scores, vh);
      }
    });
    return ctx;
  }
  // qkv: [batch*seq, 3*hidden] -> [3, batch, heads, seq, head_dim]
  torch::Tensor qkv = torch::addmm(b, x2, w.t());
  qkv = qkv.view({batch, seq, 3, num_heads, head_dim}).permute({2, 0, 3, 1, 4});
  torch::Tensor qh = qkv[0], kh = qkv[1], vh = qkv[2];
  // scores: [batch, heads, seq, seq]
  torch::Tensor scores = torch::matmul(qh, kh.transpose(-1, -2));
  if (!scaled) scores.mul_(1.0 / std::sqrt(static_cast<double>(head_dim)));
  if (bias.defined()) scores.add_(bias);
  torch::Tensor probs = torch::softmax(scores, -1);
  if (training && dropout_p > 0) probs = torch::dropout(probs, dropout_p, true);
  // context: [batch, heads, seq, head_dim] -> [batch, seq, hidden]
  torch::Tensor ctx = torch::matmul(probs, vh);
  return ctx.permute({0, 2, 1, 3}).reshape({batch, seq, hidden});
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
