// Generation speed of a t5-small-shaped model (random init, relu, tied embeddings): greedy decoding
// of exactly NEW tokens per row (eos disabled), best of REPEATS runs after a warm-up.
//   bench_t5_generate BATCH NEW_TOKENS SRC_LEN CACHE(0|1) REPEATS [THREADS]
// NLPC_BENCH_PRECISION=int8 quantizes the stacks' Linear layers (nlpc/models/layers/int8.h).
// Prints one JSON line; scripts/bench/t5_generate.sh runs it next to scripts/ref/t5_ref.py bench.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include <torch/torch.h>

#include "nlpc/core/system.h"
#include "nlpc/models/generation/hf_generate.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/models/t5/t5.h"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s BATCH NEW_TOKENS SRC_LEN CACHE(0|1) REPEATS [THREADS]\n", argv[0]);
    return 2;
  }
  const int64_t batch = std::atoll(argv[1]), new_tokens = std::atoll(argv[2]), src = std::atoll(argv[3]);
  const bool cache = std::atoi(argv[4]) != 0;
  const int repeats = std::atoi(argv[5]);
  // libtorch intra-op threads and OpenBLAS threads (libtorch alone leaves OpenBLAS's own pool,
  // whose spinning threads doubled the CPU time at batch 16)
  if (argc > 6) nlpc::set_num_threads(std::atoi(argv[6]));
  using namespace nlpc::models;
  T5Config c;  // t5-small defaults
  c.decoder_start_token_id = 0;
  T5ForConditionalGeneration model(c);
  torch::manual_seed(0);
  t5_init_weights(*model);
  model->eval();
  const char* precision = std::getenv("NLPC_BENCH_PRECISION");
  if (precision != nullptr && std::string(precision) == "int8") int8::quantize_module(*model);
  auto ids = torch::randint(2, 32000, {batch, src}, torch::kLong);
  auto mask = torch::ones({batch, src}, torch::kLong);
  GenerationOptions o;
  o.eos_token_id = -1;  // never finishes early: every run generates exactly new_tokens per row
  o.use_cache = cache;
  o.max_new_tokens = 2;
  generate(*model, ids, mask, o);  // warm-up
  o.max_new_tokens = new_tokens;
  // wall time and process CPU time (the machine may be shared: CPU time is the steadier measure)
  double best = std::numeric_limits<double>::infinity(), best_cpu = best;
  torch::Tensor out;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    out = generate(*model, ids, mask, o);
    best_cpu = std::min(best_cpu, static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  if (out.size(1) != new_tokens + 1) {
    std::fprintf(stderr, "expected %lld tokens per row, got %lld\n", static_cast<long long>(new_tokens + 1),
                 static_cast<long long>(out.size(1)));
    return 1;
  }
  std::printf(
      "{\"impl\": \"nlpc\", \"batch\": %lld, \"new_tokens\": %lld, \"cache\": %s, \"seconds\": %.6f, "
      "\"tokens_per_s\": %.3f, \"cpu_seconds\": %.6f, \"tokens_per_cpu_s\": %.3f}\n",
      static_cast<long long>(batch), static_cast<long long>(new_tokens), cache ? "true" : "false", best,
      static_cast<double>(batch * new_tokens) / best, best_cpu, static_cast<double>(batch * new_tokens) / best_cpu);
  return 0;
}
