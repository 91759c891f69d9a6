// Checkpoint reading benchmark (driven by scripts/bench/pytorch_bin.sh).
//   bench_load_checkpoint PATH   loads PATH (a model folder or a weights file: model.safetensors,
//                                pytorch_model.bin zip or legacy) with models::load_checkpoint into
//                                fp32 tensors and prints one line: tensors, MB, wall s, cpu s
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "nlpc/core/error.h"
#include "nlpc/models/checkpoint.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_load_checkpoint PATH\n");
    return 2;
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    const auto weights = nlpc::models::load_checkpoint(argv[1]);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    double mb = 0;
    for (const auto& kv : weights) mb += static_cast<double>(kv.second.numel() * kv.second.element_size()) / 1e6;
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("tensors %zu  MB %.1f  wall_s %.3f  cpu_s %.3f  peak_rss_MB %.0f\n", weights.size(), mb, wall, cpu,
                static_cast<double>(ru.ru_maxrss) / 1e3);
  } catch (const nlpc::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
