#include "tiny_models.h"

#include <filesystem>
#include <regex>
#include <stdexcept>

#include "nlpc/models/checkpoint.h"
#include "nlpc/models/whisper/whisper.h"

namespace nlpc::test {
namespace fs = std::filesystem;

std::string whisper_tokenizer_dir() { return std::string(NLPC_SOURCE_DIR) + "/configs/tokenizers/whisper-tiny"; }

nlohmann::json tiny_whisper_config() {
  return {{"model_type", "whisper"}, {"vocab_size", 51865}, {"num_mel_bins", 80}, {"d_model", 32},
          {"encoder_layers", 1}, {"decoder_layers", 1}, {"encoder_attention_heads", 2},
          {"decoder_attention_heads", 2}, {"encoder_ffn_dim", 64}, {"decoder_ffn_dim", 64},
          {"max_source_positions", 150}, {"max_target_positions", 32}, {"pad_token_id", 50257},
          {"bos_token_id", 50257}, {"eos_token_id", 50257}, {"decoder_start_token_id", 50258}};
}

std::string make_tiny_whisper(const TempDir& dir) {
  auto cfg = models::parse_whisper_config(tiny_whisper_config(), "config.json");
  models::WhisperForConditionalGeneration m(cfg);
  m->init_weights(7);
  std::string out = dir.file("whisper");
  fs::create_directories(out);
  models::save_safetensors(out + "/model.safetensors", m->state());
  write_file(out + "/config.json", models::whisper_config_to_json(cfg).dump(2));
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "generation_config.json",
                        "preprocessor_config.json"}) {
    fs::copy_file(whisper_tokenizer_dir() + "/" + f, out + "/" + f);
  }
  return out;
}

const char* const kTinyT5Config = R"({"model_type": "t5", "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 1,
  "num_decoder_layers": 1, "num_heads": 4, "relative_attention_num_buckets": 8,
  "relative_attention_max_distance": 32, "dropout_rate": 0.0, "feed_forward_proj": "relu",
  "tie_word_embeddings": true, "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0})";

std::string summarize_train_args(const TempDir& d, const std::string& extra) {
  write_file(d.file("t5.json"), kTinyT5Config);
  return "--threads 1 train --runs-dir '" + d.file("runs") + "' --experiment sum --set task=summarize" +
         " --set data.train=" + fixture("summarize/train.csv") + " --set data.valid=" + fixture("summarize/valid.csv") +
         " --set data.test=" + fixture("summarize/test.csv") +
         " --set model.type=t5 --set model.config=" + d.file("t5.json") +
         " --set model.vocab_size=120 --set model.max_length=48 --set model.max_target_length=12"
         " --set 'model.source_prefix=summarize: ' --set train.batch_size=8 --set train.max_steps=6"
         " --set train.epochs=0 --set train.eval_every=3 --set train.lr=3e-3 --set eval.valid_rows=4 " + extra;
}

const TrainedSummarizer& trained_summarizer() {
  static TrainedSummarizer t = [] {
    TrainedSummarizer x;
    auto r = run_nlpc(summarize_train_args(x.dir));
    if (r.exit_code != 0) throw std::runtime_error("summarize training failed: " + r.err);
    x.out = r.out;
    x.err = r.err;
    std::smatch m;
    std::regex_search(r.out, m, std::regex("run ([0-9a-f]{32})"));
    x.run_dir = x.dir.file("runs/sum/" + std::string(m[1]));
    return x;
  }();
  return t;
}

}  // namespace nlpc::test
