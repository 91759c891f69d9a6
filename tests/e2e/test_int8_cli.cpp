// End-to-end int8 (issue 17): `nlpc models quantize` writes a folder that loads directly as int8 and
// gives the same output as --precision int8 on the float folder; `models inspect` reports it;
// --precision on predict/transcribe; --version names the engine; n-gram and bad values are clear
// errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "tiny_models.h"

using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
namespace fs = std::filesystem;

TEST_CASE("int8: models quantize a T5 summarizer, the folder summarizes as --precision int8 does", "[e2e][int8]") {
  const auto& trained = nlpc::test::trained_summarizer();
  REQUIRE(!trained.run_dir.empty());
  TempDir d;
  auto q = run_nlpc("models quantize " + trained.model() + " --to " + d.file("q"));
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  CHECK_THAT(q.out, Catch::Contains("Linear layers int8"));
  auto config = nlohmann::json::parse(read_file(d.file("q/config.json")));
  CHECK(config["quantization_config"]["quant_method"] == "nlpc_int8_dynamic");
  CHECK((fs::exists(d.file("q/spiece.model")) || fs::exists(d.file("q/tokenizer.json"))));
  auto i = run_nlpc("models inspect --format json " + d.file("q"));
  REQUIRE(i.exit_code == 0);
  auto doc = nlohmann::json::parse(i.out);
  CHECK(doc["quantization"] == "nlpc-int8-dynamic-v1");
  CHECK(doc["int8_layers"].get<int>() > 0);
  CHECK(doc["load"]["unexpected"].empty());
  CHECK(doc["load"]["missing"].empty());

  nlpc::test::write_file(d.file("in.csv"),
                         "text\nthe quick brown fox jumps over the lazy dog\nlibrary for parsing xml files\n");
  auto summarize = [&](const std::string& model, const std::string& extra, const std::string& out) {
    auto p = run_nlpc("--threads 1 predict --task summarize --model " + model + " --input " + d.file("in.csv") +
                      " --output " + d.file(out) + " --max-new-tokens 6 " + extra);
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
    return read_file(d.file(out));
  };
  const std::string on_the_fly = summarize(trained.model(), "--precision int8", "a.csv");
  CHECK(summarize(d.file("q"), "", "b.csv") == on_the_fly);
  CHECK(summarize(d.file("q"), "--precision int8", "c.csv") == on_the_fly);
  summarize(d.file("q"), "--precision fp32", "d.csv");  // dequantized: runs

  // the same tensors under another scheme name: refused, naming the file
  auto meta_swap = d.file("q/model.safetensors");
  std::string bytes = read_file(meta_swap);
  const std::string from = "nlpc-int8-dynamic-v1", to = "nlpc-int8-dynamic-v9";
  auto at = bytes.find(from);
  REQUIRE(at != std::string::npos);
  bytes.replace(at, from.size(), to);
  nlpc::test::write_file(meta_swap, bytes);
  auto bad = run_nlpc("predict --task summarize --model " + d.file("q") + " --input " + d.file("in.csv"));
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("quantized by another build") && Catch::Contains("model.safetensors"));
}

TEST_CASE("int8: Whisper transcribes with --precision int8 and from a quantized folder alike", "[e2e][int8]") {
  TempDir d;
  const std::string model = nlpc::test::make_tiny_whisper(d);
  const std::string wav = fixture("audio/jfk.wav");
  auto t = [&](const std::string& m, const std::string& extra) {
    auto r = run_nlpc("--threads 1 transcribe --model " + m + " --format json --max-new-tokens 8 " + extra + " " + wav);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  };
  const std::string on_the_fly = t(model, "--precision int8");
  auto q = run_nlpc("models quantize " + model + " --to " + d.file("wq"));
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  CHECK(t(d.file("wq"), "") == on_the_fly);
  // A folder that exists and is not empty is refused and left as it was; no temporary folder stays.
  const std::string before = nlpc::test::read_file(d.file("wq/model.safetensors"));
  auto again = run_nlpc("models quantize " + model + " --to " + d.file("wq"));
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Catch::Contains("already exists and is not an empty folder"));
  CHECK(nlpc::test::read_file(d.file("wq/model.safetensors")) == before);
  // A trailing slash names the same folder.
  auto slash = run_nlpc("models quantize " + model + " --to " + d.file("slash") + "/");
  CHECK(slash.exit_code == 0);
  CHECK(fs::exists(d.file("slash/model.safetensors")));
  // An empty folder is fine.
  fs::create_directories(d.file("empty"));
  auto into_empty = run_nlpc("models quantize " + model + " --to " + d.file("empty"));
  CHECK(into_empty.exit_code == 0);
  CHECK(fs::exists(d.file("empty/model.safetensors")));
  for (const auto& e : fs::directory_iterator(d.path())) {
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("int8: --version names the engine, bad precision and n-gram folders are clear errors", "[e2e][int8]") {
  auto v = run_nlpc("--version");
  REQUIRE(v.exit_code == 0);
  CHECK((v.out.find("int8: onednn") != std::string::npos || v.out.find("int8: qnnpack") != std::string::npos));
  auto bad = run_nlpc("predict --model x --precision int4");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--precision"));
  TempDir d;
  fs::create_directories(d.file("ngram"));
  nlpc::test::write_file(d.file("ngram/config.json"), R"({"model_type": "nlpc-ngram"})");
  auto ng = run_nlpc("models quantize " + d.file("ngram") + " --to " + d.file("out"));
  CHECK(ng.exit_code == 2);
  CHECK_THAT(ng.err, Catch::Contains("n-gram"));
}
