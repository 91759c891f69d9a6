// Speech end to end: `eval --task asr`, `transcribe --manifest`, `predict --asr-model`, and
// `train` with task: asr, on a tiny random Whisper with a short (3 s) window and three committed
// espeak-ng clips (tests/fixtures/audio/digits).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "tiny_models.h"
#include "nlpc/io/csv.h"

using namespace nlpc;
using nlpc::test::fixture;
using nlpc::test::run_nlpc;
namespace fs = std::filesystem;

namespace {

// The fixture manifest copied next to its clips in `dir` (paths relative to the manifest).
std::string copy_clips(const test::TempDir& dir) {
  fs::create_directories(dir.file("clips"));
  for (const char* f : {"clip0.wav", "clip1.wav", "clip2.wav", "manifest.csv"}) {
    fs::copy_file(fixture(std::string("audio/digits/") + f), dir.file(std::string("clips/") + f));
  }
  return dir.file("clips/manifest.csv");
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  io::CsvReader reader(path);
  std::vector<std::vector<std::string>> rows{reader.header()};
  io::CsvRecord rec;
  while (reader.next(rec)) rows.push_back(rec.fields);
  return rows;
}

std::string runs(const test::TempDir& d) { return " --runs-dir '" + d.file("runs") + "' "; }

}  // namespace

TEST_CASE("nlpc eval --task asr: WER/CER of a Whisper folder on a manifest, recorded as a run", "[asr][e2e]") {
  test::TempDir dir;
  const std::string model = test::make_tiny_whisper(dir);
  const std::string manifest = fixture("audio/digits/manifest.csv");
  auto r = run_nlpc("--threads 1 eval --task asr" + runs(dir) + "--model " + model + " --data " + manifest +
                    " --bootstrap 50 --metrics-output " + dir.file("m.json"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("wer") && Catch::Contains("cer"));
  auto m = nlohmann::json::parse(test::read_file(dir.file("m.json")));
  CHECK(m["words"] == 8);  // "three one four" + "two seven" + "nine zero five"
  const double wer = m["wer"];
  CHECK(wer == Approx((m["substitutions"].get<double>() + m["deletions"].get<double>() +
                       m["insertions"].get<double>()) / 8.0));
  // the run: test/wer logged, transcripts.csv with one row per clip
  std::string run_dir;
  for (const auto& e : fs::recursive_directory_iterator(dir.file("runs"))) {
    if (e.path().filename() == "transcripts.csv") run_dir = e.path().parent_path().parent_path().string();
  }
  REQUIRE(!run_dir.empty());
  auto rows = read_csv(run_dir + "/artifacts/transcripts.csv");
  REQUIRE(rows.size() == 4);
  CHECK(rows[1][2] == "three one four");
  CHECK_THAT(test::read_file(run_dir + "/metrics.jsonl"), Catch::Contains("test/wer"));
  auto scores = nlohmann::json::parse(test::read_file(run_dir + "/artifacts/asr_scores.json"));
  CHECK(scores["intervals"].contains("wer"));
  // a gate on WER: a random model fails it (exit 3)
  auto g = run_nlpc("--threads 1 eval --task asr" + runs(dir) + "--model " + model + " --data " + manifest +
                    " --gate 'wer<=0.01'");
  CHECK(g.exit_code == 3);
}

TEST_CASE("nlpc eval --task asr / transcribe --manifest: missing audio names the file, row and column",
          "[asr][e2e]") {
  test::TempDir dir;
  const std::string model = test::make_tiny_whisper(dir);
  test::write_file(dir.file("bad.csv"), "audio,text\n" + fixture("audio/digits/clip0.wav") +
                                            ",three one four\nnot-there.wav,two seven\n");
  auto r = run_nlpc("eval --task asr" + runs(dir) + "--model " + model + " --data " + dir.file("bad.csv"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("bad.csv:3:") && Catch::Contains("row 2") && Catch::Contains("not-there.wav") &&
                        Catch::Contains("does not exist"));
  r = run_nlpc("transcribe -m " + model + " --manifest " + dir.file("bad.csv"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("not-there.wav"));
  // missing column
  r = run_nlpc("eval --task asr" + runs(dir) + "--model " + model + " --data " + dir.file("bad.csv") +
               " --audio-column path");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("path"));
}

TEST_CASE("nlpc transcribe --manifest keeps the columns and adds transcript", "[asr][e2e]") {
  test::TempDir dir;
  const std::string model = test::make_tiny_whisper(dir);
  const std::string manifest = copy_clips(dir);
  auto r = run_nlpc("--threads 1 transcribe -m " + model + " --manifest " + manifest + " --max-new-tokens 4 -o " +
                    dir.file("out.csv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto rows = read_csv(dir.file("out.csv"));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == std::vector<std::string>{"id", "audio", "text", "topic", "transcript"});
  CHECK(rows[2][0] == "2");
  CHECK(rows[2][1] == "clip1.wav");
}

TEST_CASE("nlpc predict --asr-model: transcribe, classify, keep the columns and the transcript", "[asr][e2e]") {
  test::TempDir dir;
  const std::string whisper = test::make_tiny_whisper(dir);
  const std::string clf = test::trained_baseline_model();
  const std::string manifest = copy_clips(dir);
  auto r = run_nlpc("--threads 1 predict --model " + clf + " --asr-model " + whisper + " --audio-column audio --input " +
                    manifest + " --output " + dir.file("pred.csv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto rows = read_csv(dir.file("pred.csv"));
  REQUIRE(rows.size() == 4);
  // the input has a "text" column but the classifier reads the transcript
  CHECK(rows[0] == std::vector<std::string>{"id", "audio", "text", "topic", "transcript", "label", "score"});
  for (size_t i = 1; i < rows.size(); ++i) CHECK(!rows[i][5].empty());
  // JSONL output keeps the transcript too
  auto j = run_nlpc("--threads 1 predict --model " + clf + " --asr-model " + whisper + " --input " + manifest +
                    " --output " + dir.file("pred.jsonl"));
  REQUIRE(j.exit_code == 0);
  auto first = nlohmann::json::parse(test::read_file(dir.file("pred.jsonl")).substr(0, test::read_file(dir.file("pred.jsonl")).find('\n')));
  CHECK(first.contains("transcript"));
  CHECK(first["id"] == "1");
  // missing audio: the row is named
  test::write_file(dir.file("clips/bad.csv"), "id,audio\n1,clip0.wav\n2,gone.wav\n");
  auto b = run_nlpc("predict --model " + clf + " --asr-model " + whisper + " --input " + dir.file("clips/bad.csv") +
                    " --output " + dir.file("bad_out.csv"));
  CHECK(b.exit_code == 2);
  CHECK_THAT(b.err, Catch::Contains("gone.wav") && Catch::Contains("bad.csv:3:"));
  CHECK(!fs::exists(dir.file("bad_out.csv")));
}

TEST_CASE("nlpc train task: asr from scratch writes a loadable Whisper folder", "[asr][e2e][train]") {
  test::TempDir dir;
  const std::string manifest = copy_clips(dir);
  test::write_file(dir.file("tiny.json"), test::tiny_whisper_config().dump());
  const std::string cmd = "--threads 1 train" + runs(dir) + "--experiment asr --set task=asr --set model.type=whisper "
                          "--set model.config=" + dir.file("tiny.json") + " --set model.tokenizer=" + test::whisper_tokenizer_dir() +
                          " --set data.train=" + manifest + " --set data.valid=" + manifest +
                          " --set train.max_steps=4 --set train.epochs=0 --set train.batch_size=2 --set train.lr=1e-3"
                          " --set train.eval_every=3";
  auto r = run_nlpc(cmd);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("wer"));
  std::string model;
  for (const auto& e : fs::recursive_directory_iterator(dir.file("runs"))) {
    if (e.path().filename() == "model" && e.path().parent_path().filename() == "artifacts") model = e.path().string();
  }
  REQUIRE(!model.empty());
  for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json",
                        "generation_config.json", "preprocessor_config.json"}) {
    CHECK(fs::exists(model + "/" + f));
  }
  auto pre = nlohmann::json::parse(test::read_file(model + "/preprocessor_config.json"));
  CHECK(pre["nb_max_frames"] == 300);
  const std::string run_dir = fs::path(model).parent_path().parent_path().string();
  const std::string metrics = test::read_file(run_dir + "/metrics.jsonl");
  CHECK_THAT(metrics, Catch::Contains("train/loss") && Catch::Contains("valid/wer"));
  // decoding the valid set every eval_every steps (and at the last), not also at each epoch end
  // (3 clips in batches of 2: epochs end at steps 2 and 4)
  std::vector<int64_t> wer_steps;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["key"] == "valid/wer") wer_steps.push_back(j["step"].get<int64_t>());
  }
  // (no test set: the saved model's final score is logged as valid/wer at the last step too)
  wer_steps.erase(std::unique(wer_steps.begin(), wer_steps.end()), wer_steps.end());
  CHECK(wer_steps == std::vector<int64_t>{3, 4});
  // the prompt's language is the model's own (HF style: "language"/"task" and matching forced ids)
  auto gen = nlohmann::json::parse(test::read_file(model + "/generation_config.json"));
  CHECK(gen["language"] == "en");
  CHECK(gen["task"] == "transcribe");
  CHECK(gen["forced_decoder_ids"] == nlohmann::json::parse("[[1, 50259], [2, 50359]]"));
  CHECK(nlohmann::json::parse(test::read_file(run_dir + "/params.json"))["data.language"] == "en");
  // the folder loads and transcribes, in that language without detecting one
  auto t = run_nlpc("--threads 1 transcribe -m " + model + " --temperatures 0 --no-timestamps --format json " +
                    fixture("audio/digits/clip0.wav"));
  INFO(t.err);
  CHECK(t.exit_code == 0);
  CHECK_THAT(t.err, !Catch::Contains("detected language"));
  if (t.exit_code == 0) CHECK(nlohmann::json::parse(t.out)["language"] == "en");
  // an unknown data.language is a usage error
  auto bad = run_nlpc(cmd + " --set data.language=klingon");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("data.language") && Catch::Contains("klingon"));
  // a clip longer than the window is refused with the row named
  test::write_file(dir.file("clips/long.csv"), "audio,text\n" + fixture("audio/jfk.wav") + ",and so my fellow\n");
  auto l = run_nlpc(cmd + " --set data.train=" + dir.file("clips/long.csv"));
  CHECK(l.exit_code == 2);
  CHECK_THAT(l.err, Catch::Contains("long.csv") && Catch::Contains("longer than the model's window"));
}
