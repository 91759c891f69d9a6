#pragma once
// Tiny model folders shared by the e2e tests: a random Whisper with a 3 s window (real whisper-tiny
// vocabulary) and a T5 summarizer trained for a few steps by `nlpc train`.
#include <string>

#include <nlohmann/json.hpp>

#include "../test_util.h"

namespace nlpc::test {

// configs/tokenizers/whisper-tiny (vocab.json, merges.txt, tokenizer and generation configs).
std::string whisper_tokenizer_dir();
// d_model 32, 1 + 1 layers, whisper-tiny's vocabulary, a 300-frame (3 s) window.
nlohmann::json tiny_whisper_config();
// That model, randomly initialised (seed 7), saved as a Hugging Face folder <dir>/whisper.
std::string make_tiny_whisper(const TempDir& dir);

// A 1 + 1 layer T5 (d_model 32) config.
extern const char* const kTinyT5Config;
// `nlpc train` arguments for a 6-step T5 summarizer on tests/fixtures/summarize (runs under
// <d>/runs, experiment "sum"), followed by `extra`.
std::string summarize_train_args(const TempDir& d, const std::string& extra = "");

struct TrainedSummarizer {
  TempDir dir;
  std::string run_dir, out, err;
  std::string model() const { return run_dir + "/artifacts/model"; }
};
// The summarizer trained once per test process.
const TrainedSummarizer& trained_summarizer();

}  // namespace nlpc::test
