// Whisper speed on CPU: encoder ms per 30 s window and decoder tokens/s (greedy, K/V caches).
// Usage: bench_whisper_rtf MODEL_DIR FEATURES.npy [tokens=100] [repeats=3] [threads=all]
// NLPC_BENCH_PRECISION=int8 quantizes the stacks' Linear layers (nlpc/models/layers/int8.h).
// Driven by scripts/bench/whisper_rtf.sh, which runs the same measurement in Python PyTorch eager.
#include <chrono>
#include <cstdio>
#include <string>

#include "nlpc/audio/mel.h"
#include "nlpc/core/system.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/models/whisper/whisper.h"

using namespace nlpc;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR FEATURES.npy [tokens] [repeats] [threads]\n", argv[0]);
    return 2;
  }
  int tokens = argc > 3 ? std::stoi(argv[3]) : 100;
  int repeats = argc > 4 ? std::stoi(argv[4]) : 3;
  set_num_threads(argc > 5 ? std::stoi(argv[5]) : 0);
  torch::NoGradGuard no_grad;
  auto cfg = models::load_whisper_config(argv[1]);
  models::WhisperForConditionalGeneration m(cfg);
  m->load_state(models::load_checkpoint(argv[1]), argv[1]);
  m->eval();
  const char* precision = std::getenv("NLPC_BENCH_PRECISION");
  const bool int8 = precision != nullptr && std::string(precision) == "int8";
  if (int8) models::int8::quantize_module(*m);
  auto feats = audio::read_npy(argv[2]).slice(1, 0, cfg.input_frames()).unsqueeze(0);
  using clock = std::chrono::steady_clock;
  auto enc = m->encode(feats);  // warm-up
  double enc_best = 1e9, dec_best = 1e9;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = clock::now();
    enc = m->encode(feats);
    enc_best = std::min(enc_best, std::chrono::duration<double>(clock::now() - t0).count());
    auto cache = m->make_cache();
    t0 = clock::now();
    auto logits = m->decode(torch::tensor({cfg.decoder_start_token_id, int64_t(50259), int64_t(50359), int64_t(50363)}).view({1, -1}), enc, &cache);
    for (int i = 0; i < tokens; ++i) {
      int64_t next = logits[0][-1].argmax().item<int64_t>();
      logits = m->decode(torch::tensor({next}).view({1, 1}), enc, &cache);
    }
    dec_best = std::min(dec_best, std::chrono::duration<double>(clock::now() - t0).count());
  }
  std::printf("nlpc %s threads %d: encoder %.1f ms/window, decoder %.1f tokens/s (%d tokens, best of %d)\n",
              int8 ? "int8" : "fp32", num_threads(), enc_best * 1000, tokens / dec_best, tokens, repeats);
  return 0;
}
