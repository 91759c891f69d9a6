// End-to-end: `nlpc models inspect | convert`, hostile pytorch_model.bin files (exit 2, nothing
// executed), fine-tuning from a BertForPreTraining .bin, summarizing with a T5 v1.0 .bin folder.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../test_util.h"

using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
namespace fs = std::filesystem;

namespace {
const char* kMarker = "/tmp/nlpc-pickle-marker-must-not-exist";
}

TEST_CASE("models inspect: a BertForPreTraining .bin folder", "[e2e][models]") {
  auto r = run_nlpc("models inspect " + fixture("bin/bert-pretraining"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("BertForPreTraining"));
  CHECK_THAT(r.out, Catch::Contains("PyTorch zip"));
  CHECK_THAT(r.out, Catch::Contains("wordpiece, 99 tokens"));
  CHECK_THAT(r.out, Catch::Contains("ignored when fine-tuning (other heads) (9): cls.predictions.bias"));
  CHECK_THAT(r.out, Catch::Contains("newly initialised when fine-tuning"));
  CHECK_THAT(r.out, Catch::Contains("bert.embeddings.word_embeddings.weight"));
  auto j = run_nlpc("models inspect --format json " + fixture("bin/tinybert-general"));
  REQUIRE(j.exit_code == 0);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["model_type"] == "bert");
  CHECK(doc["weights_format"] == "PyTorch legacy");
  CHECK(doc["load"]["prefix"] == "added 'bert.'");
  CHECK(doc["load"]["ignored"] == nlohmann::json{"fit_dense.bias", "fit_dense.weight"});
  CHECK(doc["load"]["missing"].empty());
}

TEST_CASE("models convert: .bin folder -> model.safetensors folder", "[e2e][models]") {
  TempDir d;
  auto r = run_nlpc("models convert " + fixture("bin/t5-v1.0") + " --to " + d.file("t5"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(d.file("t5/model.safetensors")));
  CHECK(read_file(d.file("t5/spiece.model")) == read_file(fixture("bin/t5-v1.0/spiece.model")));
  CHECK(nlohmann::json::parse(read_file(d.file("t5/config.json")))["model_type"] == "t5");
  auto i = run_nlpc("models inspect " + d.file("t5"));
  CHECK_THAT(i.out, Catch::Contains("(safetensors)"));
  // summaries from the .bin folder and from its conversion are identical
  nlpc::test::write_file(d.file("in.csv"), "text\nthe quick brown fox jumps over the lazy dog\nhello world\n");
  for (const char* which : {"bin", "st"}) {
    const std::string model = std::string(which) == "bin" ? fixture("bin/t5-v1.0") : d.file("t5");
    auto p = run_nlpc("--threads 1 predict --task summarize --model " + model + " --input " + d.file("in.csv") +
                      " --output " + d.file(std::string(which) + ".csv") + " --max-new-tokens 8");
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
  }
  CHECK(read_file(d.file("bin.csv")) == read_file(d.file("st.csv")));
  auto same = run_nlpc("models convert " + fixture("bin/bert-zip") + " --to " + fixture("bin/bert-zip"));
  CHECK(same.exit_code == 2);
}

TEST_CASE("hostile pytorch_model.bin: exit 2 naming the file, nothing executed", "[e2e][models]") {
  TempDir d;
  fs::remove(kMarker);
  for (const char* f : {"foreign-global.bin", "legacy-foreign-global.bin", "truncated-zip.bin", "numel-overflow.bin"}) {
    const std::string dir = d.file(f) + ".d";
    fs::create_directories(dir);
    fs::copy_file(fixture(std::string("bin/hostile/") + f), dir + "/pytorch_model.bin");
    fs::copy_file(fixture("models/tiny-bert/config.json"), dir + "/config.json");
    auto r = run_nlpc("models inspect " + dir);
    INFO(f << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(dir + "/pytorch_model.bin"));
    auto c = run_nlpc("models convert " + dir + " --to " + d.file("out"));
    CHECK(c.exit_code == 2);
  }
  CHECK_FALSE(fs::exists(kMarker));
  CHECK_FALSE(fs::exists(d.file("out/model.safetensors")));
}

TEST_CASE("fine-tuning a classifier from a BertForPreTraining pytorch_model.bin", "[e2e][models]") {
  TempDir d;
  auto r = run_nlpc("--threads 1 train --runs-dir '" + d.file("runs") + "' --set data.train=" +
                    fixture("data/train.csv") + " --set data.valid=" + fixture("data/valid.csv") +
                    " --set data.label_column=section --set model.type=bert --set model.init=" +
                    fixture("bin/bert-pretraining") + " --set model.max_length=40 --set train.batch_size=16" +
                    " --set train.max_steps=3 --set train.eval_every=3");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err + r.out, Catch::Contains("ignored 9 checkpoint tensor(s): cls.predictions.bias"));
  CHECK_THAT(r.err + r.out, Catch::Contains("newly initialised: classifier.bias, classifier.weight"));
}

TEST_CASE("train: a frozen encoder's features are computed once and give the uncached run's metrics",
          "[e2e][train]") {
  TempDir d;
  auto train = [&](const std::string& cache) {
    return run_nlpc("--threads 1 train --runs-dir '" + d.file("runs") + "' --set data.train=" +
                    fixture("data/train.csv") + " --set data.valid=" + fixture("data/valid.csv") +
                    " --set data.label_column=section --set model.type=bert --set model.init=" +
                    fixture("bin/bert-pretraining") + " --set model.max_length=40 --set train.batch_size=16" +
                    " --set train.epochs=3 --set model.head=mlp --set model.freeze_encoder=true" +
                    " --set model.cache_features=" + cache);
  };
  auto on = train("true");
  INFO(on.out << on.err);
  REQUIRE(on.exit_code == 0);
  CHECK_THAT(on.err, Catch::Contains("frozen encoder: features of"));
  auto off = train("false");
  REQUIRE(off.exit_code == 0);
  CHECK_THAT(off.err, !Catch::Contains("frozen encoder: features of"));
  // The same test table: the cache changes what is recomputed, not what is learned.
  auto table = [](const std::string& out) { return out.substr(std::min(out.size(), out.find("metrics on"))); };
  CHECK(table(on.out) == table(off.out));
}
