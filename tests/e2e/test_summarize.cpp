// End-to-end: `nlpc train` with task summarize (a tiny T5 from scratch, its SentencePiece vocabulary
// trained on the fixture), `nlpc eval --task summarize` and `nlpc predict --task summarize`.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "tiny_models.h"

using nlohmann::json;
using nlpc::test::fixture;
using nlpc::test::kTinyT5Config;
using nlpc::test::TrainedSummarizer;
using nlpc::test::trained_summarizer;
using nlpc::test::summarize_train_args;
using nlpc::test::metrics_final;
using nlpc::test::run_id_of;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
using nlpc::test::write_file;
namespace fs = std::filesystem;


TEST_CASE("summarize: train a tiny T5 from scratch, recorded as a run", "[e2e][summarize]") {
  const TrainedSummarizer& t = trained_summarizer();
  CHECK_THAT(t.out, Catch::Contains("rougeLsum"));
  CHECK_THAT(t.out, Catch::Contains("lead baseline"));
  CHECK_THAT(t.out, Catch::Contains("training: 6 steps"));
  CHECK_THAT(t.err, Catch::Contains("valid: loss") && Catch::Contains("ROUGE-L") && Catch::Contains("on 4 rows"));
  auto info = json::parse(read_file(t.run_dir + "/run.json"));
  CHECK(info["status"] == "FINISHED");
  auto params = json::parse(read_file(t.run_dir + "/params.json"));
  CHECK(params["train.metric"] == "rougeL");
  CHECK(params["data.train_rows"] == 40);
  auto m = metrics_final(t.run_dir);
  for (const char* k : {"train/loss", "train/lr", "valid/loss", "valid/rougeL", "test/rouge1", "test/rouge2",
                        "test/rougeL", "test/rougeLsum", "test/lead_rouge1", "test/lead_rougeLsum", "train/seconds"}) {
    INFO(k);
    CHECK(m.contains(k));
  }
  // The lead baseline does not depend on the model: its ROUGE-1 on the fixture is well above 0.
  CHECK(m["test/lead_rouge1"].get<double>() > 0.1);
  const std::string model = t.run_dir + "/artifacts/model";
  for (const char* f : {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json",
                        "generation_config.json"}) {
    INFO(f);
    CHECK(fs::exists(model + "/" + f));
  }
  auto cfg = json::parse(read_file(model + "/config.json"));
  CHECK(cfg["model_type"] == "t5");
  CHECK(cfg["vocab_size"] == 120);
  CHECK(cfg["nlpc_source_prefix"] == "summarize: ");
  auto gen = json::parse(read_file(model + "/generation_config.json"));
  CHECK(gen["max_new_tokens"] == 12);
  CHECK(gen["decoder_start_token_id"] == 0);
  // Every test row has a prediction next to its reference.
  std::istringstream is(read_file(t.run_dir + "/artifacts/predictions.jsonl"));
  std::string line;
  int n = 0;
  while (std::getline(is, line)) {
    auto j = json::parse(line);
    CHECK(j.contains("summary"));
    CHECK(j.contains("target"));
    ++n;
  }
  CHECK(n == 10);
}

TEST_CASE("summarize: eval prints ROUGE with intervals and the lead baseline; gates", "[e2e][summarize]") {
  const TrainedSummarizer& t = trained_summarizer();
  TempDir d;
  const std::string model = t.run_dir + "/artifacts/model";
  auto e = run_nlpc("--threads 1 eval --task summarize --runs-dir '" + d.file("runs") + "' --model " + model +
                    " --data " + fixture("summarize/test.csv") + " --bootstrap 100 --lead-baseline --metrics-output " +
                    d.file("m.json") + " --gate 'lead_rouge1>=0.1'");
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK_THAT(e.out, Catch::Contains("(10 rows"));
  CHECK(std::regex_search(e.out, std::regex("rouge1 +[0-9.]+  \\[[0-9.]+, [0-9.]+\\]")));
  CHECK_THAT(e.out, Catch::Contains("lead baseline"));
  CHECK_THAT(e.out, Catch::Contains("PASS"));
  auto mj = json::parse(read_file(d.file("m.json")));
  for (const char* k : {"rouge1", "rouge2", "rougeL", "rougeLsum", "lead_rouge1"}) CHECK(mj.contains(k));
  // The same lead baseline as at the end of training.
  auto m = metrics_final(t.run_dir);
  CHECK(mj["lead_rouge1"].get<double>() == Approx(m["test/lead_rouge1"].get<double>()).epsilon(1e-12));
  CHECK(mj["rouge1"].get<double>() == Approx(m["test/rouge1"].get<double>()).epsilon(1e-12));

  auto g = run_nlpc("--threads 1 eval --task summarize --runs-dir '" + d.file("runs") + "' --model " + model +
                    " --data " + fixture("summarize/test.csv") + " --gate 'rouge1>=1.01'");
  CHECK(g.exit_code == 3);
  CHECK_THAT(g.out, Catch::Contains("FAIL"));
}

TEST_CASE("summarize: predict keeps columns and rows and adds summary (CSV, JSONL)", "[e2e][summarize]") {
  const TrainedSummarizer& t = trained_summarizer();
  TempDir d;
  const std::string model = t.run_dir + "/artifacts/model";
  write_file(d.file("in.csv"), "id,text,extra\n1,\"A library for parsing JSON.\nIt is fast.\",x\n2,A game.,y\n3,\"Tools, many.\",z\n");
  auto p = run_nlpc("--threads 1 predict --task summarize --model " + model + " --input " + d.file("in.csv") +
                    " --output " + d.file("out.csv") + " --num-beams 2 --max-new-tokens 5 --no-repeat-ngram-size 2");
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  const std::string out = read_file(d.file("out.csv"));
  CHECK(out.rfind("id,text,extra,summary\n", 0) == 0);
  CHECK_THAT(out, Catch::Contains("\n2,A game.,y,"));
  CHECK_THAT(out, Catch::Contains("\n3,\"Tools, many.\",z,"));

  write_file(d.file("in.jsonl"), "{\"k\": \"a\", \"text\": \"A small editor.\"}\n{\"k\": \"b\", \"text\": \"A big database.\"}\n");
  auto q = run_nlpc("--threads 1 predict --task summarize --model " + model + " --input " + d.file("in.jsonl") +
                    " --output " + d.file("out.jsonl") + " --do-sample --top-k 5 --top-p 0.9 --temperature 0.7 --seed 3");
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  std::istringstream is(read_file(d.file("out.jsonl")));
  std::string line;
  std::vector<json> rows;
  while (std::getline(is, line)) rows.push_back(json::parse(line));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["k"] == "a");
  CHECK(rows[1]["text"] == "A big database.");
  CHECK(rows[0]["summary"].is_string());
  std::vector<std::string> keys;
  for (auto it = rows[0].begin(); it != rows[0].end(); ++it) keys.push_back(it.key());
  // Sampling with a seed is reproducible.
  auto q2 = run_nlpc("--threads 1 predict --task summarize --model " + model + " --input " + d.file("in.jsonl") +
                     " --output " + d.file("out2.jsonl") + " --do-sample --top-k 5 --top-p 0.9 --temperature 0.7 --seed 3");
  REQUIRE(q2.exit_code == 0);
  CHECK(read_file(d.file("out2.jsonl")) == read_file(d.file("out.jsonl")));
}

TEST_CASE("summarize: bad input is a clear error with exit code 2", "[e2e][summarize]") {
  TempDir d;
  write_file(d.file("t5.json"), kTinyT5Config);
  SECTION("missing target column") {
    write_file(d.file("train.csv"), "text,abstract\nsome text,a summary\n");
    auto r = run_nlpc(summarize_train_args(d, "--set data.train=" + d.file("train.csv")));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("summary"));
    CHECK_THAT(r.err, Catch::Contains("train.csv"));
  }
  SECTION("empty target") {
    write_file(d.file("train.csv"), "text,summary\nsome text,a summary\nmore text,\n");
    auto r = run_nlpc(summarize_train_args(d, "--set data.train=" + d.file("train.csv")));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("empty target"));
    CHECK_THAT(r.err, Catch::Contains("train.csv:3"));
  }
  SECTION("eval: target column missing") {
    const TrainedSummarizer& t = trained_summarizer();
    auto r = run_nlpc("--threads 1 eval --task summarize --runs-dir '" + d.file("runs") + "' --model " + t.run_dir +
                      "/artifacts/model --data " + fixture("summarize/test.csv") + " --target-column abstract");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("abstract"));
  }
  SECTION("summarize with a model that is not T5") {
    auto r = run_nlpc("--threads 1 predict --task summarize --model " + nlpc::test::trained_baseline_model() +
                      " --input " + fixture("summarize/test.csv") + " --output " + d.file("o.csv"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("T5"));
    CHECK(!fs::exists(d.file("o.csv")));
  }
}

TEST_CASE("summarize: SIGTERM mid-training, then --resume ends like an uninterrupted run", "[e2e][summarize][resume]") {
  // max_steps 6 -> 200 (set after, so it wins): long enough to be killed mid-run.
  const std::string extra = "--set train.max_steps=200 --set train.eval_every=50 --set train.seed=3";
  TempDir full, killed;
  auto r = run_nlpc(summarize_train_args(full, extra));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string ref_dir = full.file("runs/sum/" + run_id_of(r.out));
  const json ref = metrics_final(ref_dir);
  REQUIRE(ref.contains("test/rougeL"));

  const auto bg = nlpc::test::start_nlpc_until_logged(summarize_train_args(killed, extra), killed.file("out"),
                                                      killed.file("err"), killed.file("runs/sum"), 6, 60);
  const std::string& dir = bg.run_dir;
  REQUIRE(bg.losses >= 6);
  REQUIRE(nlpc::test::terminate_and_wait(bg.pid) == 143);  // killed mid-run, not finished first
  CHECK(json::parse(read_file(dir + "/run.json"))["status"] == "KILLED");
  CHECK_FALSE(metrics_final(dir).contains("test/rougeL"));

  auto res = run_nlpc("--threads 1 train --runs-dir '" + killed.file("runs") + "' --experiment sum --resume " +
                      fs::path(dir).filename().string().substr(0, 10));
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  CHECK(json::parse(read_file(dir + "/run.json"))["status"] == "FINISHED");
  const json got = metrics_final(dir);
  for (const char* k : {"train/loss", "valid/loss", "test/rouge1", "test/rouge2", "test/rougeL", "test/rougeLsum"}) {
    INFO(k);
    REQUIRE(got.contains(k));
    CHECK(got[k].get<double>() == Approx(ref[k].get<double>()).epsilon(1e-6).margin(1e-9));
  }
}

TEST_CASE("summarize: fine-tuning starts from a HF T5 folder (model.init) and keeps its vocabulary", "[e2e][summarize]") {
  const TrainedSummarizer& t = trained_summarizer();
  const std::string init = t.run_dir + "/artifacts/model";
  TempDir d;
  auto r = run_nlpc("--threads 1 train --runs-dir '" + d.file("runs") + "' --experiment ft --set task=summarize" +
                    " --set data.train=" + fixture("summarize/train.csv") + " --set data.valid=" +
                    fixture("summarize/valid.csv") + " --set model.type=t5 --set model.init=" + init +
                    " --set model.max_length=48 --set model.max_target_length=12 --set train.batch_size=8"
                    " --set train.max_steps=2 --set train.epochs=0 --set train.lr=1e-3 --set eval.valid_rows=2");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string dir = d.file("runs/ft/" + run_id_of(r.out));
  CHECK(json::parse(read_file(dir + "/run.json"))["status"] == "FINISHED");
  const std::string model = dir + "/artifacts/model";
  auto cfg = json::parse(read_file(model + "/config.json"));
  CHECK(cfg["vocab_size"] == 120);  // the init folder's vocabulary, not a newly trained one
  CHECK(read_file(model + "/spiece.model") == read_file(init + "/spiece.model"));
  CHECK(metrics_final(dir).contains("valid/loss"));
}
