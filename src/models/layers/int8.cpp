#include "nlpc/models/layers/int8.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <regex>

#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>

#include "nlpc/core/error.h"

#if __has_include(<oneapi/dnnl/dnnl.hpp>)
#define NLPC_INT8_DNNL 1
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace nlpc::models::int8 {
namespace {

// ---- the packed weights of one int8 matrix, per kernel ----

struct Packed {
  virtual ~Packed() = default;
  // gelu: the exact GELU applied to the result.
  virtual torch::Tensor apply(const torch::Tensor& x2, const torch::Tensor& b, bool gelu) = 0;
};

// Activation quantization as PyTorch's dynamic linear: per tensor, asymmetric uint8 over
// [min(x, 0), max(x, 0)] (0 is exactly representable).
struct ActivationParams {
  double scale = 1.0;
  int64_t zero_point = 0;
};
ActivationParams activation_params(const torch::Tensor& x2) {
  const auto mm = torch::aminmax(x2);
  const double lo = std::min(0.0, std::get<0>(mm).item<double>());
  const double hi = std::max(0.0, std::get<1>(mm).item<double>());
  if (!std::isfinite(lo) || !std::isfinite(hi)) throw RuntimeError("int8 linear: the input holds inf or NaN");
  ActivationParams p;
  if (hi == lo) return p;  // all zeros
  p.scale = (hi - lo) / 255.0;
  p.zero_point = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(-lo / p.scale)), 0, 255);
  return p;
}

// x (float32, contiguous) -> uint8 clamp(rint(x * (1 / scale)) + zero_point, 0, 255), the
// rounding of torch.quantize_per_tensor, in parallel chunks (libtorch's own kernel is ~8x slower here).
// `rows` >= x.size(0): the rows past x's are left as they are (the caller discards their results).
torch::Tensor quantize_activations(const torch::Tensor& x, const ActivationParams& p, int64_t rows) {
  torch::Tensor q = torch::empty({rows, x.size(1)}, torch::kByte);
  const float* in = x.data_ptr<float>();
  uint8_t* out = q.data_ptr<uint8_t>();
  const float inv = 1.0f / static_cast<float>(p.scale);
  const float zp = static_cast<float>(p.zero_point);
  const float lo = -zp, hi = 255.0f - zp;  // clamping before rounding: same result, small magnitudes
  // Adding and subtracting 1.5 * 2^23 rounds a float of magnitude < 2^22 to an integer, half to even
  // (the default rounding mode), as rint does, but inline and vectorizable.
  constexpr float kRound = 12582912.0f;
  at::parallel_for(0, x.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    // Locals and restrict: otherwise every uint8 store may alias the captured values, which are
    // then reloaded each iteration and the loop stays scalar (it was 15 % of a bert-mini forward).
    const float* __restrict src = in;
    uint8_t* __restrict dst = out;
    const float s = inv, a = lo, b = hi, z = zp;
    for (int64_t i = begin; i < end; ++i) {
      float v = src[i] * s;
      v = v < a ? a : (v > b ? b : v);
      v = (v + kRound) - kRound;
      dst[i] = static_cast<uint8_t>(static_cast<int32_t>(v + z));
    }
  });
  return q;
}

#ifdef NLPC_INT8_DNNL
dnnl::engine& dnnl_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// oneDNN u8 x s8 -> f32 matmul. The weight is reordered once into the layout oneDNN picks for it;
// the per-call scales and the zero-point compensation are two runtime per-column post-ops
// (y = acc * (act_scale * w_scale[n]) + (b[n] - act_scale * w_scale[n] * zp * sum_k q[n, k])), which
// keeps the AMX/VNNI "brgemm" kernels eligible (runtime output scales or source zero points do not).
struct DnnlPacked : Packed {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  int64_t in = 0, out = 0;
  dnnl::memory::desc wdesc;
  dnnl::memory weights;
  torch::Tensor weight_storage;  // owns the packed weight bytes
  std::vector<float> scale;
  std::vector<float> colsum;  // sum_k q[n, k]
  // One primitive per row count (executing one primitive from several threads is safe with a user
  // scratchpad, which every call brings).
  struct Primitive {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul matmul;
  };
  std::mutex mutex;
  std::map<std::pair<int64_t, bool>, std::shared_ptr<Primitive>> by_rows;  // (rows, gelu)

  static dnnl::primitive_attr attributes(int64_t out, bool gelu) {
    dnnl::post_ops po;
    const dnnl::memory::desc col({1, out}, dt::f32, tag::ab);
    po.append_binary(dnnl::algorithm::binary_mul, col);
    po.append_binary(dnnl::algorithm::binary_add, col);
    if (gelu) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
  }

  DnnlPacked(const torch::Tensor& q, const torch::Tensor& s) : in(q.size(1)), out(q.size(0)) {
    // Packing layout chosen for a mid-sized row count; other row counts reuse it (oneDNN's brgemm
    // kernels take the same blocked weights for any M).
    const dnnl::memory::desc a({256, in}, dt::u8, tag::ab), w({in, out}, dt::s8, tag::any),
        c({256, out}, dt::f32, tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, w, c), attributes(out, false), dnnl_engine());
    wdesc = pd.weights_desc();
    weight_storage = torch::empty({static_cast<int64_t>(wdesc.get_size())}, torch::kUInt8);
    weights = dnnl::memory(wdesc, dnnl_engine(), weight_storage.data_ptr());
    const torch::Tensor qc = q.contiguous();
    // q is [out, in] row-major, i.e. the [in, out] matrix in "ba" order
    dnnl::memory plain({{in, out}, dt::s8, tag::ba}, dnnl_engine(), qc.data_ptr());
    dnnl::stream st(dnnl_engine());
    dnnl::reorder(plain, weights).execute(st, plain, weights);
    st.wait();
    const torch::Tensor sc = s.to(torch::kFloat).contiguous();
    scale.assign(sc.data_ptr<float>(), sc.data_ptr<float>() + out);
    const torch::Tensor sums = qc.to(torch::kFloat).sum(1).contiguous();
    colsum.assign(sums.data_ptr<float>(), sums.data_ptr<float>() + out);
    by_rows[{256, false}] = std::make_shared<Primitive>(Primitive{pd, dnnl::matmul(pd)});
  }

  std::shared_ptr<Primitive> primitive_for(int64_t rows, bool gelu) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = by_rows.find({rows, gelu});
    if (it != by_rows.end()) return it->second;
    if (by_rows.size() > 64) by_rows.clear();  // many distinct row counts (decoding): keep it bounded
    const dnnl::memory::desc a({rows, in}, dt::u8, tag::ab), c({rows, out}, dt::f32, tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, wdesc, c), attributes(out, gelu), dnnl_engine());
    auto p = std::make_shared<Primitive>(Primitive{pd, dnnl::matmul(pd)});
    by_rows[{rows, gelu}] = p;
    return p;
  }

  // Creating a oneDNN primitive costs about a millisecond: row counts above 16 (encoder inputs of
  // varying length) are padded up to a few buckets, so that a handful of primitives serve them all;
  // small counts (decoding steps, beams) are exact.
  static int64_t padded_rows(int64_t rows) {
    if (rows <= 16) return rows;
    const int64_t step = rows <= 128 ? 16 : rows <= 1024 ? 64 : 256;
    return (rows + step - 1) / step * step;
  }

  torch::Tensor apply(const torch::Tensor& x2, const torch::Tensor& b, bool gelu) override {
    const int64_t real_rows = x2.size(0), rows = padded_rows(real_rows);
    const ActivationParams p = activation_params(x2);
    const torch::Tensor xq = quantize_activations(x2, p, rows);
    torch::Tensor col_scale = torch::empty({1, out}, torch::kFloat), col_add = torch::empty({1, out}, torch::kFloat);
    float* cs = col_scale.data_ptr<float>();
    float* ca = col_add.data_ptr<float>();
    const torch::Tensor bias = b.defined() ? b.to(torch::kFloat).contiguous() : torch::Tensor();
    const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
    for (int64_t n = 0; n < out; ++n) {
      const double s = p.scale * scale[n];
      cs[n] = static_cast<float>(s);
      ca[n] = static_cast<float>((bp ? bp[n] : 0.0) - s * static_cast<double>(p.zero_point) * colsum[n]);
    }
    torch::Tensor y = torch::empty({rows, out}, torch::kFloat);
    if (rows == 0) return y;
    const auto prim = primitive_for(rows, gelu);
    const dnnl::matmul::primitive_desc* pd = &prim->pd;
    torch::Tensor scratch = torch::empty({static_cast<int64_t>(pd->scratchpad_desc().get_size()) + 1}, torch::kUInt8);
    dnnl::memory src(pd->src_desc(), dnnl_engine(), xq.data_ptr());
    dnnl::memory dst(pd->dst_desc(), dnnl_engine(), y.data_ptr());
    const dnnl::memory::desc col({1, out}, dt::f32, tag::ab);
    dnnl::memory m_scale(col, dnnl_engine(), cs), m_add(col, dnnl_engine(), ca);
    dnnl::memory pad(pd->scratchpad_desc(), dnnl_engine(), scratch.data_ptr());
    dnnl::stream st(dnnl_engine());
    prim->matmul.execute(
        st, {{DNNL_ARG_SRC, src},
             {DNNL_ARG_WEIGHTS, weights},
             {DNNL_ARG_DST, dst},
             {DNNL_ARG_SCRATCHPAD, pad},
             {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, m_scale},
             {DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, m_add}});
    st.wait();
    return rows == real_rows ? y : y.narrow(0, 0, real_rows);
  }
};
#endif

// libtorch's quantized::linear_prepack / LinearPackedParamsBase::apply_dynamic (onednn or qnnpack).
struct TorchPacked : Packed {
  c10::intrusive_ptr<LinearPackedParamsBase> params;
  TorchPacked(const torch::Tensor& q, const torch::Tensor& s) {
    static auto prepack =
        c10::Dispatcher::singleton()
            .findSchemaOrThrow("quantized::linear_prepack", "")
            .typed<c10::intrusive_ptr<LinearPackedParamsBase>(at::Tensor, c10::optional<at::Tensor>)>();
    const torch::Tensor qw = at::_make_per_channel_quantized_tensor(
        q.contiguous(), s.to(torch::kDouble), torch::zeros({q.size(0)}, torch::kLong), 0);
    params = prepack.call(qw, c10::nullopt);
  }
  torch::Tensor apply(const torch::Tensor& x2, const torch::Tensor& b, bool gelu) override {
    torch::Tensor y = params->apply_dynamic(x2, /*reduce_range=*/false);
    if (b.defined()) y.add_(b);
    return gelu ? at::gelu_out(y, y) : y;
  }
};

// ---- which engine ----

bool torch_engine_has(at::QEngine e) {
  const auto& engines = at::globalContext().supportedQEngines();
  return std::find(engines.begin(), engines.end(), e) != engines.end();
}

struct EngineChoice {
  std::string name;  // "onednn", "qnnpack" or ""
  bool direct = false;
};

const EngineChoice& engine_choice() {
  static const EngineChoice choice = [] {
    EngineChoice c;
#ifdef NLPC_INT8_DNNL
    c.name = "onednn";
    c.direct = true;
    return c;
#else
    if (torch_engine_has(at::QEngine::ONEDNN)) {
      at::globalContext().setQEngine(at::QEngine::ONEDNN);
      c.name = "onednn";
    } else if (torch_engine_has(at::QEngine::QNNPACK)) {
      at::globalContext().setQEngine(at::QEngine::QNNPACK);
      c.name = "qnnpack";
    }
    return c;
#endif
  }();
  return choice;
}

std::shared_ptr<Packed> pack(const torch::Tensor& q, const torch::Tensor& s) {
#ifdef NLPC_INT8_DNNL
  if (engine_choice().direct) return std::make_shared<DnnlPacked>(q, s);
#endif
  require_engine("int8 inference");
  return std::make_shared<TorchPacked>(q, s);
}

// ---- the cache of packed weights, keyed by the int8 tensor ----

using WeakTensor = c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>;
// Inference tensors (made under InferenceMode) cannot change in place: no version counter.
int64_t version_of(const torch::Tensor& t) { return t.is_inference() ? 0 : static_cast<int64_t>(t._version()); }
struct CacheEntry {
  CacheEntry(const torch::Tensor& q, const torch::Tensor& s)
      : weight(q.getIntrusivePtr()), scale(s.getIntrusivePtr()), weight_version(version_of(q)),
        scale_version(version_of(s)) {}
  WeakTensor weight, scale;
  int64_t weight_version = -1, scale_version = -1;
  std::shared_ptr<Packed> packed;
};

std::shared_ptr<Packed> packed_for(const torch::Tensor& q, const torch::Tensor& s) {
  static std::mutex mutex;
  static std::map<const c10::TensorImpl*, CacheEntry> cache;
  const c10::TensorImpl* key = q.unsafeGetTensorImpl();
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      const CacheEntry& e = it->second;
      auto w = e.weight.lock();
      auto sc = e.scale.lock();
      if (w.get() == key && sc.get() == s.unsafeGetTensorImpl() && e.weight_version == version_of(q) &&
          e.scale_version == version_of(s)) {
        return e.packed;
      }
    }
  }
  torch::NoGradGuard no_grad;
  CacheEntry e(q, s);
  e.packed = pack(q, s);
  std::lock_guard<std::mutex> lock(mutex);
  for (auto it = cache.begin(); it != cache.end();) {
    it = it->second.weight.expired() ? cache.erase(it) : std::next(it);
  }
  cache.insert_or_assign(key, e);
  return e.packed;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Makes `layer` an int8 Linear holding (q, s): the weight parameter takes the int8 data in place
// (the module's parameter table sees it) and the weight_scale buffer is registered or updated.
void set_int8(torch::nn::Linear& layer, const torch::Tensor& q, const torch::Tensor& s) {
  c10::InferenceMode off(false);  // model tensors stay normal tensors even when loaded under InferenceMode
  torch::NoGradGuard no_grad;
  layer->weight.set_requires_grad(false);
  layer->weight.set_data(q);
  auto buffers = layer->named_buffers(/*recurse=*/false);
  if (auto* existing = buffers.find(kScaleBuffer)) {
    existing->set_data(s);
  } else {
    layer->register_buffer(kScaleBuffer, s);
  }
}

}  // namespace

std::string engine() { return engine_choice().name; }

std::string describe_engine() {
  const EngineChoice& c = engine_choice();
  if (c.name.empty()) return "none (libtorch has neither the onednn nor the qnnpack quantized engine)";
#ifdef NLPC_INT8_DNNL
  if (c.direct) {
    const dnnl_version_t* v = dnnl_version();
    std::string isa;
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::avx512_core_amx: isa = "AVX-512 + AMX"; break;
      case dnnl::cpu_isa::avx512_core_bf16: isa = "AVX-512 BF16 + VNNI"; break;
      case dnnl::cpu_isa::avx512_core_vnni: isa = "AVX-512 VNNI"; break;
      case dnnl::cpu_isa::avx512_core: isa = "AVX-512"; break;
      case dnnl::cpu_isa::avx2_vnni: isa = "AVX2 VNNI"; break;
      case dnnl::cpu_isa::avx2: isa = "AVX2"; break;
      default: isa = "other"; break;
    }
    return "onednn (oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
           std::to_string(v->patch) + " called directly, CPU ISA: " + isa + ")";
  }
#endif
  return c.name + " (libtorch's quantized::linear_dynamic)";
}

void require_engine(const std::string& what) {
  if (engine_choice().name.empty()) {
    throw UsageError(what + ": no int8 engine in this build: " + describe_engine() +
                     "; run in fp32 (--precision fp32)");
  }
}

void check_precision(const std::string& precision, const std::string& what) {
  if (precision != "auto" && precision != "fp32" && precision != "int8") {
    throw UsageError(what + ": unknown precision '" + precision + "' (expected auto, fp32 or int8)");
  }
}

QuantizedWeight quantize_weight(const torch::Tensor& w) {
  torch::NoGradGuard no_grad;
  const torch::Tensor wf = w.detach().to(torch::kFloat);
  // PyTorch's per-channel symmetric observer: scale = max(|min|, |max|) / ((127 - (-128)) / 2),
  // at least float32 eps; zero point 0.
  const torch::Tensor amax = wf.abs().amax(1);
  const torch::Tensor scale = torch::clamp_min(amax / 127.5, std::numeric_limits<float>::epsilon());
  // w * (1 / scale) in float32, rounded half to even, as torch.quantize_per_channel computes it
  const torch::Tensor q =
      torch::clamp(torch::round(wf * torch::reciprocal(scale).unsqueeze(1)), -128, 127).to(torch::kChar);
  return {q.contiguous(), scale.contiguous()};
}

torch::Tensor dequantize_weight(const torch::Tensor& q, const torch::Tensor& scale) {
  return q.to(torch::kFloat) * scale.to(torch::kFloat).unsqueeze(1);
}

torch::Tensor linear(const torch::Tensor& x2, const torch::Tensor& q, const torch::Tensor& scale,
                     const torch::Tensor& b, bool gelu) {
  TORCH_CHECK(x2.dim() == 2 && x2.size(1) == q.size(1), "int8 linear: input ", x2.sizes(), " for weight ",
              q.sizes());
  const torch::Tensor x = x2.to(torch::kFloat).contiguous();
  return packed_for(q, scale)->apply(x, b, gelu);
}

bool is_int8(const torch::nn::Linear& layer) { return layer->weight.scalar_type() == torch::kChar; }

torch::Tensor weight_scale(const torch::nn::Linear& layer) {
  if (!is_int8(layer)) return {};
  auto buffers = layer->named_buffers(/*recurse=*/false);
  const torch::Tensor* s = buffers.find(kScaleBuffer);
  TORCH_CHECK(s != nullptr, "int8 Linear without a weight_scale buffer");
  return *s;
}

bool quantizable(const std::string& module_name) {
  static const std::regex stack_block(R"((^|\.)(layer|layers|block)\.[0-9]+\.)");
  return std::regex_search(module_name, stack_block);
}

std::vector<std::string> quantize_module(torch::nn::Module& root) {
  require_engine("int8 quantization");
  std::vector<std::string> names;
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    auto* lin = item.value()->as<torch::nn::LinearImpl>();
    if (!lin || !quantizable(item.key()) || lin->weight.scalar_type() == torch::kChar) continue;
    torch::nn::Linear layer(std::dynamic_pointer_cast<torch::nn::LinearImpl>(item.value()));
    c10::InferenceMode off(false);
    const QuantizedWeight qw = quantize_weight(layer->weight);
    set_int8(layer, qw.weight, qw.scale.to(layer->weight.device()));
    names.push_back(item.key());
  }
  return names;
}

void check_device(const torch::nn::Module& module, const c10::Device& device) {
  if (device.is_cpu()) return;
  for (const auto& p : module.parameters()) {
    if (p.scalar_type() == torch::kChar) {
      throw UsageError("int8 inference runs on the CPU only (--device " + device.str() +
                       "): use --device cpu, or --precision fp32 on the GPU");
    }
  }
}

bool stored_int8(const StateDict& weights) {
  for (const auto& kv : weights) {
    if (ends_with(kv.first, std::string(".") + kScaleBuffer)) return true;
  }
  return false;
}

bool before_load(torch::nn::Module& module, StateDict& weights, const std::string& precision,
                 const std::string& dir) {
  check_precision(precision, "--precision");
  const std::string suffix = std::string(".") + kScaleBuffer;
  if (!stored_int8(weights)) {
    if (precision != "int8") return false;
    require_engine("--precision int8");
    return true;
  }
  const auto metadata = weights_metadata(dir);
  auto it = metadata.find(kMetadataKey);
  if (it == metadata.end() || it->second != kScheme) {
    throw InputError(find_weights(dir), 0, 0,
                     "holds int8 weights (*" + suffix + " tensors) but its metadata " +
                         (it == metadata.end() ? std::string("has no \"") + kMetadataKey + "\" entry"
                                               : std::string("names the scheme '") + it->second + "'") +
                         ": quantized by another build or tool. This nlpc reads '" + kScheme +
                         "'; quantize the float32 folder again with `nlpc models quantize`");
  }
  std::vector<std::string> problems;
  for (const auto& kv : weights) {
    if (!ends_with(kv.first, suffix)) continue;
    const std::string base = kv.first.substr(0, kv.first.size() - suffix.size());
    auto w = weights.find(base + ".weight");
    if (w == weights.end() || w->second.scalar_type() != torch::kChar || w->second.dim() != 2 ||
        kv.second.dim() != 1 || kv.second.size(0) != w->second.size(0)) {
      problems.push_back(base + " (needs an I8 [out, in] weight and an F32 [out] weight_scale)");
    }
  }
  if (!problems.empty()) {
    std::string list;
    for (const auto& p : problems) list += (list.empty() ? "" : ", ") + p;
    throw InputError(find_weights(dir), 0, 0, "inconsistent int8 layers: " + list);
  }
  if (precision == "fp32") {
    StateDict out;
    for (auto& kv : weights) {
      if (ends_with(kv.first, suffix)) continue;
      out[kv.first] = kv.second;
    }
    for (const auto& kv : weights) {
      if (!ends_with(kv.first, suffix)) continue;
      const std::string key = kv.first.substr(0, kv.first.size() - suffix.size()) + ".weight";
      out[key] = dequantize_weight(weights.at(key), kv.second);
    }
    weights = std::move(out);
    return false;
  }
  require_engine("int8 weights of " + dir);
  for (const auto& item : module.named_modules("", /*include_self=*/false)) {
    auto* lin = item.value()->as<torch::nn::LinearImpl>();
    if (!lin || !weights.count(item.key() + suffix)) continue;
    torch::nn::Linear layer(std::dynamic_pointer_cast<torch::nn::LinearImpl>(item.value()));
    c10::InferenceMode off(false);
    set_int8(layer, torch::zeros(layer->weight.sizes(), torch::kChar),
             torch::ones({layer->weight.size(0)}, torch::kFloat));
  }
  return false;
}

}  // namespace nlpc::models::int8
