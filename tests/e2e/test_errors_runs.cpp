// Errors instead of stack traces (issue 20, point 5) and run records that follow the README (point 6):
// a Whisper tokenizer of another size, a truncated WAV file, bench recording under NLPC_RUNS_DIR,
// no FAILED run for bad eval inputs, `runs delete` and `--status`, metric columns in `runs list`,
// roc_auc_ovr_macro/classes as a count, the n-gram SVM's unused epochs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/whisper/whisper.h"

// libtorch pulls in glog, whose CHECK(cond) aborts and replaces Catch's CHECK; restore Catch's.
#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using nlohmann::json;
using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
using nlpc::test::write_file;
namespace fs = std::filesystem;

namespace {
// A 1 + 1 layer random Whisper with `vocab_size` outputs and whisper-tiny's (multilingual) tokenizer.
std::string make_whisper(const TempDir& dir, int64_t vocab_size) {
  auto j = json::parse(read_file(fixture("whisper/tiny-random/config.json")));
  j.update({{"d_model", 32}, {"encoder_layers", 1}, {"decoder_layers", 1}, {"encoder_attention_heads", 2},
            {"decoder_attention_heads", 2}, {"encoder_ffn_dim", 64}, {"decoder_ffn_dim", 64},
            {"vocab_size", vocab_size}, {"max_source_positions", 1500}, {"max_target_positions", 448},
            {"pad_token_id", 50257}, {"bos_token_id", 50257}, {"eos_token_id", 50257},
            {"decoder_start_token_id", 50258}});
  auto cfg = nlpc::models::parse_whisper_config(j, "config.json");
  nlpc::models::WhisperForConditionalGeneration m(cfg);
  m->init_weights(42);
  const std::string out = dir.file("whisper-" + std::to_string(vocab_size));
  fs::create_directories(out);
  nlpc::models::save_safetensors(out + "/model.safetensors", m->state());
  write_file(out + "/config.json", nlpc::models::whisper_config_to_json(cfg).dump(2));
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json"})
    fs::copy_file(fixture(std::string("text/whisper-tiny/") + f), out + "/" + f);
  fs::copy_file(fixture("whisper/generation_config.json"), out + "/generation_config.json");
  return out;
}

// A 16 kHz mono 16-bit WAV whose header declares `declared` samples but holds `present`.
void write_wav(const std::string& path, uint32_t declared, uint32_t present) {
  std::string s = "RIFF";
  auto le32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff)); };
  auto le16 = [&](uint16_t v) { s.push_back(static_cast<char>(v & 0xff)), s.push_back(static_cast<char>(v >> 8)); };
  le32(36 + 2 * declared);
  s += "WAVEfmt ";
  le32(16), le16(1), le16(1), le32(16000), le32(32000), le16(2), le16(16);
  s += "data";
  le32(2 * declared);
  for (uint32_t i = 0; i < present; ++i) le16(static_cast<uint16_t>(static_cast<int16_t>(((i * 37) % 2000) - 1000)));
  write_file(path, s);
}

size_t run_count(const std::string& experiment_dir) {
  if (!fs::exists(experiment_dir)) return 0;
  return static_cast<size_t>(std::distance(fs::directory_iterator(experiment_dir), fs::directory_iterator()));
}
}  // namespace

TEST_CASE("errors: a Whisper tokenizer that does not fit the model is refused at load", "[e2e][errors]") {
  TempDir d;
  const std::string english_sized = make_whisper(d, 51864);  // whisper-*.en size, multilingual tokenizer
  auto r = run_nlpc("--threads 1 transcribe -m " + english_sized + " --max-new-tokens 4 " + fixture("audio/jfk.wav"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(english_sized + "/config.json") && Catch::Contains("vocab_size 51864") &&
                        Catch::Contains("belongs to another Whisper model"));
  CHECK_THAT(r.err, !Catch::Contains("index out of range"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') <= 3);  // a message, not a trace

  const std::string multilingual = make_whisper(d, 51865);
  auto other = run_nlpc("--threads 1 transcribe -m " + multilingual + " --tokenizer " + english_sized +
                        " --max-new-tokens 4 " + fixture("audio/jfk.wav"));
  CHECK(other.exit_code == 0);  // same tokenizer files, a model it fits
}

TEST_CASE("errors: a truncated WAV file is decoded with a warning naming what is missing", "[e2e][errors]") {
  TempDir d;
  const std::string model = make_whisper(d, 51865);
  write_wav(d.file("cut.wav"), 16000, 4000);  // 1 s declared, 0.25 s present
  auto r = run_nlpc("--threads 1 transcribe -m " + model + " --language en --max-new-tokens 4 " + d.file("cut.wav"));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains(d.file("cut.wav") + ": truncated WAV file") &&
                        Catch::Contains("declares 1.00 s") && Catch::Contains("holds 0.25 s") &&
                        Catch::Contains("0.75 s are missing"));
  write_wav(d.file("whole.wav"), 4000, 4000);
  auto ok = run_nlpc("--threads 1 transcribe -m " + model + " --language en --max-new-tokens 4 " + d.file("whole.wav"));
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.err, !Catch::Contains("truncated"));
}

TEST_CASE("runs: bench records under NLPC_RUNS_DIR, the report shows its cost table", "[e2e][runs]") {
  TempDir d;
  const std::string m = nlpc::test::trained_baseline_model();
  auto r = run_nlpc("--threads 1 bench -m " + m + " --texts 5 --min-seconds 0.01 --batch-sizes 1,4", "",
                    "NLPC_RUNS_DIR='" + d.file("runs") + "'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(run_count(d.file("runs/default")) == 1);
  auto rep = run_nlpc("runs report -o " + d.file("r.html"), "", "NLPC_RUNS_DIR='" + d.file("runs") + "'");
  REQUIRE(rep.exit_code == 0);
  CHECK_THAT(read_file(d.file("r.html")), Catch::Contains("<h2>Cost</h2>"));
  auto none = run_nlpc("--threads 1 bench -m " + m + " --texts 5 --min-seconds 0.01 --batch-sizes 1 --no-record", "",
                       "NLPC_RUNS_DIR='" + d.file("runs") + "'");
  REQUIRE(none.exit_code == 0);
  CHECK(run_count(d.file("runs/default")) == 1);
}

TEST_CASE("runs: bad eval inputs leave no run, delete and --status, metric columns", "[e2e][runs]") {
  TempDir d;
  const std::string m = nlpc::test::trained_baseline_model();
  const std::string runs = " --runs-dir " + d.file("runs");
  auto bad = run_nlpc("--threads 1 eval -m " + m + " -d " + d.file("nope.csv") + runs);
  CHECK(bad.exit_code == 2);
  auto bad_model = run_nlpc("--threads 1 eval -m " + d.file("no-model") + " -d " + fixture("data/test.csv") + runs);
  CHECK(bad_model.exit_code == 2);
  CHECK(run_count(d.file("runs/default")) == 0);  // nothing recorded for inputs that were never valid

  auto good = run_nlpc("--threads 1 eval -m " + m + " -d " + fixture("data/test.csv") + runs + " --bootstrap 20");
  REQUIRE(good.exit_code == 0);
  const std::string id = nlpc::test::run_id_of(good.out);
  // roc_auc_ovr_macro/classes is a count: in metrics.json, not an aggregate with an interval
  const json boot = json::parse(read_file(d.file("runs/default/" + id + "/artifacts/bootstrap.json")));
  CHECK(boot["metrics"].contains("accuracy"));
  CHECK_FALSE(boot["metrics"].contains("roc_auc_classes"));
  CHECK_FALSE(boot["metrics"].contains("roc_auc_ovr_macro/classes"));
  CHECK(json::parse(read_file(d.file("runs/default/" + id + "/artifacts/metrics.json")))
            .contains("roc_auc_ovr_macro/classes"));

  auto list = run_nlpc("runs list" + runs);
  REQUIRE(list.exit_code == 0);
  CHECK(std::regex_search(list.out, std::regex("STATUS +START +DURATION +accuracy +f1_macro")));
  CHECK(std::regex_search(list.out, std::regex(id + ".*FINISHED.* 0\\.[0-9]+ +0\\.[0-9]+")));

  // a FAILED run (a gate is not a failure: make one by hand) and the filters
  const std::string failed = d.file("runs/default/ffffffffffffffffffffffffffffffff");
  write_file(failed + "/run.json", json{{"run_id", "ffffffffffffffffffffffffffffffff"}, {"run_name", "broken"},
                                        {"experiment", "default"}, {"status", "FAILED"}, {"start_time", 1}}.dump());
  auto only_failed = run_nlpc("runs list --status failed --format json" + runs);
  REQUIRE(only_failed.exit_code == 0);
  REQUIRE(json::parse(only_failed.out).size() == 1);
  CHECK(run_nlpc("runs list --status broken" + runs).exit_code == 2);
  auto dry = run_nlpc("runs delete --status FAILED --dry-run" + runs);
  CHECK_THAT(dry.out, Catch::Contains("would delete ffffffff"));
  CHECK(fs::exists(failed));
  auto del = run_nlpc("runs delete --status FAILED" + runs);
  REQUIRE(del.exit_code == 0);
  CHECK_THAT(del.out, Catch::Contains("deleted 1 run"));
  CHECK_FALSE(fs::exists(failed));
  CHECK(fs::exists(d.file("runs/default/" + id)));
  CHECK(run_nlpc("runs delete" + runs).exit_code == 2);  // neither ids nor --status: refuse
  auto by_id = run_nlpc("runs delete " + id.substr(0, 8) + runs);
  REQUIRE(by_id.exit_code == 0);
  CHECK(run_count(d.file("runs/default")) == 0);
}

TEST_CASE("train: the n-gram SVM warns that train.epochs is not used", "[e2e][train]") {
  TempDir d;
  const std::string base = "--threads 1 train --runs-dir " + d.file("runs") + " --set data.train=" +
                           fixture("data/valid.csv") + " --set data.label_column=section";
  auto svm = run_nlpc(base + " --set train.epochs=10");
  REQUIRE(svm.exit_code == 0);
  CHECK_THAT(svm.err, Catch::Contains("train.epochs and train.lr are not used by the n-gram SVM solver"));
  auto sgd = run_nlpc(base + " --set train.epochs=2 --set model.ngram.solver=sgd");
  REQUIRE(sgd.exit_code == 0);
  CHECK_THAT(sgd.err, !Catch::Contains("are not used"));
}
