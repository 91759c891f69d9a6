// One name per meaning across subcommands, old names as hidden aliases, "did you mean" for typos,
// clean help pages with the exit codes (issue 20, point 4).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../test_util.h"

using nlohmann::json;
using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
using nlpc::test::write_file;

namespace {
size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }
}  // namespace

TEST_CASE("cli: did you mean, for subcommands and flags", "[cli][names]") {
  auto r = run_nlpc("trian --config x.json");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown subcommand trian for 'nlpc'; did you mean train?"));
  r = run_nlpc("train --confg configs/quickstart.json");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown flag --confg for 'nlpc train'; did you mean --config?"));
  r = run_nlpc("runs lsit");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("did you mean list?"));
  r = run_nlpc("eval --metric-output m.json -m x -d y");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--metric-output") && !Catch::Contains("did you mean --metrics-output"));
  r = run_nlpc("predict --zzzzzz -m x");  // nothing close: no suggestion, but where to look
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, !Catch::Contains("did you mean") && Catch::Contains("Run 'nlpc predict --help'"));
}

TEST_CASE("cli: --threads -1 is one line", "[cli][names]") {
  auto r = run_nlpc("--threads -1 --version");
  CHECK(r.exit_code == 2);
  CHECK(lines(r.err) == 1);
  CHECK_THAT(r.err, Catch::Contains("--threads") && Catch::Contains("0 (all cores) or a positive number"));
}

TEST_CASE("cli: every help page has the exit codes, no {false}, no hidden alias", "[cli][names]") {
  for (const char* cmd : {"", "tokenize", "tokenize decode", "tokenize train", "train", "eval", "predict", "transcribe",
                          "runs", "runs list", "runs show", "runs compare", "runs delete", "runs export-mlflow",
                          "runs report", "serve", "bench"}) {
    auto r = run_nlpc(std::string(cmd) + " --help");
    INFO(cmd << "\n" << r.out);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("Exit codes: 0 ok, 1 runtime failure, 2 usage or bad input"));
    CHECK_THAT(r.out, !Catch::Contains("{false}") && !Catch::Contains("{true}"));
    for (const char* alias : {"--beam-size", "--asr-language", "--metrics-output", "--column,", "--column ",
                              "--format,"}) {
      CHECK_THAT(r.out, !Catch::Contains(alias));
    }
  }
  auto t = run_nlpc("transcribe --help");
  CHECK_THAT(t.out, Catch::Contains("--num-beams") && Catch::Contains("--no-timestamps") &&
                        Catch::Contains("--language"));
  auto p = run_nlpc("predict --help");
  CHECK_THAT(p.out, Catch::Contains("--language") && Catch::Contains("--top-labels") && Catch::Contains("--top-k"));
  auto e = run_nlpc("eval --help");
  CHECK_THAT(e.out, Catch::Contains("--input-format") && Catch::Contains("--json") && Catch::Contains("--no-normalize"));
  auto k = run_nlpc("tokenize --help");
  CHECK_THAT(k.out, Catch::Contains("--text-column"));
}

TEST_CASE("cli: old names keep working", "[cli][names]") {
  TempDir d;
  const std::string m = nlpc::test::trained_baseline_model();
  // eval: --format (input) and --metrics-output are --input-format and --json
  auto a = run_nlpc("--threads 1 eval -m " + m + " -d " + fixture("data/test.csv") + " --runs-dir " + d.file("runs") +
                    " --format csv --metrics-output " + d.file("old.json"));
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  auto b = run_nlpc("--threads 1 eval -m " + m + " -d " + fixture("data/test.csv") + " --runs-dir " + d.file("runs") +
                    " --input-format csv --json " + d.file("new.json"));
  REQUIRE(b.exit_code == 0);
  CHECK(json::parse(read_file(d.file("old.json")))["accuracy"] == json::parse(read_file(d.file("new.json")))["accuracy"]);

  // predict: --top-k with a classifier still means --top-labels
  write_file(d.file("in.csv"), "text\nan audio mixer for ALSA\n");
  auto k = run_nlpc("--threads 1 predict -m " + m + " -i " + d.file("in.csv") + " -o " + d.file("k.csv") + " --top-k 2");
  REQUIRE(k.exit_code == 0);
  auto l = run_nlpc("--threads 1 predict -m " + m + " -i " + d.file("in.csv") + " -o " + d.file("l.csv") +
                    " --top-labels 2");
  REQUIRE(l.exit_code == 0);
  CHECK_THAT(read_file(d.file("l.csv")), Catch::StartsWith("text,label,score,top_labels,top_scores"));
  CHECK(read_file(d.file("k.csv")) == read_file(d.file("l.csv")));

  // tokenize: --column is --text-column
  const std::string tok = std::string(NLPC_SOURCE_DIR) + "/configs/tokenizers/bert-base-uncased";
  auto t1 = run_nlpc("tokenize --tokenizer " + tok + " --input " + d.file("in.csv") + " --column text");
  auto t2 = run_nlpc("tokenize --tokenizer " + tok + " --input " + d.file("in.csv") + " --text-column text");
  REQUIRE(t1.exit_code == 0);
  CHECK(t1.out == t2.out);

  // runs list: --format table is text
  auto r1 = run_nlpc("runs list --runs-dir " + d.file("runs") + " --format table");
  auto r2 = run_nlpc("runs list --runs-dir " + d.file("runs") + " --format text");
  REQUIRE(r1.exit_code == 0);
  CHECK(r1.out == r2.out);
}
