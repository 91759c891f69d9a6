// End-to-end: a model folder records the columns it was trained on (config.json "nlpc_columns"),
// and eval / predict / bench read them by default; flags win; a missing column is exit 2 naming the
// file and the column; folders without the record keep the old defaults (issue 20, point 1).
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
// The n-gram baseline trained on "package,text" (joined) with labels in "section".
const std::string& two_column_model() {
  static TempDir dir;
  static std::string model;
  if (model.empty()) {
    auto r = run_nlpc("--threads 1 train --runs-dir '" + dir.file("runs") + "' --set data.train=" +
                      fixture("data/train.csv") +
                      " --set data.text_column=package,text --set data.label_column=section --set train.epochs=2");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    model = dir.file("runs/default/" + nlpc::test::run_id_of(r.out) + "/artifacts/model");
  }
  return model;
}

double accuracy_of(const std::string& out) {
  auto pos = out.find("accuracy");
  REQUIRE(pos != std::string::npos);
  return std::stod(out.substr(out.find_first_of("0123456789", pos)));
}
}  // namespace

TEST_CASE("model columns: recorded in config.json at training time", "[e2e][columns]") {
  const json cfg = json::parse(read_file(two_column_model() + "/config.json"));
  REQUIRE(cfg.contains("nlpc_columns"));
  CHECK(cfg["nlpc_columns"]["text_column"] == "package,text");
  CHECK(cfg["nlpc_columns"]["label_column"] == "section");
  CHECK(cfg["nlpc_columns"]["pair_column"] == "");
}

TEST_CASE("model columns: eval reads them by default, flags override", "[e2e][columns]") {
  TempDir d;
  const std::string base = "--threads 1 eval -m " + two_column_model() + " -d " + fixture("data/test.csv") +
                           " --runs-dir " + d.file("runs");
  auto by_default = run_nlpc(base);
  INFO(by_default.err);
  REQUIRE(by_default.exit_code == 0);  // no --label-column: "section" comes from the model
  CHECK(by_default.err.find("columns of the model: label_column=section") != std::string::npos);
  auto explicit_cols = run_nlpc(base + " --text-column package,text --label-column section");
  REQUIRE(explicit_cols.exit_code == 0);
  CHECK(accuracy_of(by_default.out) == accuracy_of(explicit_cols.out));
  auto text_only = run_nlpc(base + " --text-column text");  // the flag wins over the record
  REQUIRE(text_only.exit_code == 0);
  CHECK(accuracy_of(text_only.out) != accuracy_of(by_default.out));
  const std::string run_dir = d.file("runs/default/" + nlpc::test::run_id_of(by_default.out));
  const json params = json::parse(read_file(run_dir + "/params.json"));
  CHECK(params.dump().find("package,text") != std::string::npos);
}

TEST_CASE("model columns: predict and bench read them, a missing one is exit 2 naming file and column",
          "[e2e][columns]") {
  TempDir d;
  const std::string m = two_column_model();
  auto a = run_nlpc("--threads 1 predict -m " + m + " -i " + fixture("data/valid.csv") + " -o " + d.file("a.csv"));
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  auto b = run_nlpc("--threads 1 predict -m " + m + " -i " + fixture("data/valid.csv") + " -o " + d.file("b.csv") +
                    " --text-column package,text");
  REQUIRE(b.exit_code == 0);
  CHECK(read_file(d.file("a.csv")) == read_file(d.file("b.csv")));

  write_file(d.file("no_package.csv"), "text,section\nan audio mixer,sound\n");
  auto miss = run_nlpc("--threads 1 predict -m " + m + " -i " + d.file("no_package.csv") + " -o " + d.file("c.csv"));
  CHECK(miss.exit_code == 2);
  CHECK(miss.err.find(d.file("no_package.csv")) != std::string::npos);
  CHECK(miss.err.find("no column named \"package\"") != std::string::npos);
  CHECK(miss.err.find("trained on text_column=package,text") != std::string::npos);
  auto eval_miss = run_nlpc("--threads 1 eval -m " + m + " -d " + d.file("no_package.csv") + " --runs-dir " +
                            d.file("runs"));
  CHECK(eval_miss.exit_code == 2);
  CHECK(eval_miss.err.find("\"package\"") != std::string::npos);
  auto bench_miss = run_nlpc("--threads 1 bench -m " + m + " --data " + d.file("no_package.csv") +
                             " --texts 2 --min-seconds 0.01 --batch-sizes 1 --no-record");
  CHECK(bench_miss.exit_code == 2);
  CHECK(bench_miss.err.find("\"package\"") != std::string::npos);
  auto bench_ok = run_nlpc("--threads 1 bench -m " + m + " --data " + d.file("no_package.csv") +
                           " --text-column text --texts 2 --min-seconds 0.01 --batch-sizes 1 --no-record");
  INFO(bench_ok.err);
  CHECK(bench_ok.exit_code == 0);
}

TEST_CASE("model columns: a folder without the record keeps the old defaults", "[e2e][columns]") {
  TempDir d;
  const std::string m = d.file("old_model");
  std::filesystem::copy(two_column_model(), m);
  json cfg = json::parse(read_file(m + "/config.json"));
  cfg.erase("nlpc_columns");
  write_file(m + "/config.json", cfg.dump(2));
  auto r = run_nlpc("--threads 1 eval -m " + m + " -d " + fixture("data/test.csv") + " --runs-dir " + d.file("runs"));
  CHECK(r.exit_code == 2);  // label column "label", as before
  CHECK(r.err.find("no column named \"label\"") != std::string::npos);
  auto ok = run_nlpc("--threads 1 eval -m " + m + " -d " + fixture("data/test.csv") + " --runs-dir " +
                     d.file("runs") + " --label-column section");
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
}
