// Encoder inference timing (driven by scripts/bench/encoder.sh, which runs the Python eager
// reference on the same inputs and prints the ratios).
//   bench_encoder --config model.json [--threads N] [--warmup W] [--iters K] [--precision fp32|int8]
//                 case.safetensors...
// Each case file holds input_ids and attention_mask [batch, seq]. NLPC_BENCH_LINEAR=1 also times one
// hidden -> 4 * hidden Linear over 4,096 rows in float32 and int8 (and aminmax, gelu, a fresh 50 MB
// buffer); NLPC_BENCH_TRACE=FILE writes libtorch's profiler trace of one more forward. Prints one JSON object:
//   {"sgemm_gflops": .., "cases": {"<file>": median seconds per forward, ...}}
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "nlpc/models/checkpoint.h"
#include "nlpc/models/bert/classifier.h"
#include "nlpc/models/bert/config.h"
#include "nlpc/models/layers/int8.h"

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
double median_time(F&& f, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    const double t0 = now();
    f();
    t.push_back(now() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string config;
  int threads = 1, warmup = 2, iters = 5;
  std::string precision = "fp32";
  std::vector<std::string> cases;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--config") config = next();
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--warmup") warmup = std::stoi(next());
    else if (a == "--iters") iters = std::stoi(next());
    else if (a == "--precision") precision = next();
    else cases.push_back(a);
  }
  if (config.empty() || cases.empty()) {
    std::cerr << "usage: bench_encoder --config model.json [--threads N] [--warmup W] [--iters K] case.safetensors...\n";
    return 2;
  }
  try {
    torch::set_num_threads(threads);
    torch::manual_seed(0);
    nlpc::models::ClassifierOptions opt;
    opt.labels = {"a", "b"};
    auto model = nlpc::models::create_classifier(nlpc::models::load_model_config(config), opt);
    model->eval();
    if (precision == "int8") nlpc::models::int8::quantize_module(*model);
    auto& encoder = model->encoder();
    torch::InferenceMode guard;
    nlohmann::json out;
    auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
    const double sgemm = median_time([&] { torch::mm(a, b); }, 3, 10);
    out["sgemm_gflops"] = 2.0 * 1024 * 1024 * 1024 / sgemm / 1e9;
    out["threads"] = torch::get_num_threads();
    out["precision"] = precision;
    if (std::getenv("NLPC_BENCH_LINEAR") != nullptr) {
      // one feed-forward Linear of the model (hidden -> intermediate) over batch * seq rows, float vs int8
      auto cfgj = nlpc::models::load_model_config(config);
      const int64_t rows = 4096, in = cfgj.hidden_size(), outf = 4 * in;
      auto x = torch::randn({rows, in}), w = torch::randn({outf, in}) * 0.02, b = torch::zeros({outf});
      auto qw = nlpc::models::int8::quantize_weight(w);
      out["linear_fp32_s"] = median_time([&] { torch::addmm(b, x, w.t()); }, 2, 10);
      out["linear_int8_s"] = median_time([&] { nlpc::models::int8::linear(x, qw.weight, qw.scale, b); }, 2, 10);
      out["aminmax_s"] = median_time([&] { torch::aminmax(x); }, 2, 10);
      auto h = torch::randn({rows, outf});
      out["gelu_s"] = median_time([&] { torch::gelu(h); }, 2, 10);
      out["empty_fill_s"] = median_time([&] { torch::empty({rows, outf}).fill_(1); }, 2, 10);
    }
    for (const auto& c : cases) {
      auto t = nlpc::models::read_safetensors(c);
      const auto ids = t.at("input_ids"), mask = t.at("attention_mask");
      out["cases"][c] = median_time([&] { encoder.encode(ids, mask, {}, false); }, warmup, iters);
      if (const char* trace = std::getenv("NLPC_BENCH_TRACE")) {
        // one more forward under libtorch's profiler: a chrome://tracing file of its ops
        torch::autograd::profiler::RecordProfile profile(trace);
        encoder.encode(ids, mask, {}, false);
      }
    }
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_encoder: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
