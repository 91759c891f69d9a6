// export-mlflow: MLflow's file-store layout, file by file; formatting helpers against Python/PyYAML.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/runs/mlflow_export.h"
#include "nlpc/runs/run.h"

namespace fs = std::filesystem;
using nlohmann::json;
using nlpc::test::read_file;
using nlpc::test::TempDir;
using nlpc::test::write_file;

namespace {

const std::string kIdA(32, 'a');
const std::string kIdB(32, 'b');
const std::string kIdC(32, 'c');
const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

// Three hand-made run folders with fixed times: a FINISHED run in "exp-a", a FAILED run in
// "default" and a RUNNING run in "exp-a".
void make_runs(const std::string& runs) {
  const std::string a = runs + "/exp-a/" + kIdA;
  write_file(a + "/run.json", json{{"run_id", kIdA},
                                   {"experiment", "exp-a"},
                                   {"run_name", "brave-otter-042"},
                                   {"status", "FINISHED"},
                                   {"start_time", 1700000000000},
                                   {"end_time", 1700000060000},
                                   {"command_line", "/usr/bin/nlpc train --config c.json"},
                                   {"user", "alice"},
                                   {"host", "box"},
                                   {"pid", 1},
                                   {"git_commit", kCommit},
                                   {"seed", 13},
                                   {"nlpc_version", "0.1.0"},
                                   {"libtorch_version", "1.13.0"}}
                                  .dump(2));
  write_file(a + "/params.json",
             json{{"lr", 0.001}, {"model.hidden", 256}, {"data/train", "train.csv"}, {"use_cls", true},
                  {"layers", {1, 2}}, {"note", nullptr}}
                 .dump(2));
  write_file(a + "/tags.json", json{{"purpose", "test"}}.dump());
  write_file(a + "/metrics.jsonl",
             "{\"key\":\"train/loss\",\"value\":0.5,\"step\":0,\"timestamp\":1700000001000}\n"
             "{\"key\":\"train/loss\",\"value\":0.25,\"step\":1,\"timestamp\":1700000002000}\n"
             "{\"key\":\"accuracy\",\"value\":0.75,\"step\":1,\"timestamp\":1700000002500}\n"
             "{\"key\":\"train/loss\",\"value\":\"NaN\",\"step\":2,\"timestamp\":1700000003000}\n"
             "{\"key\":\"accuracy\",\"value\":1e-05,\"step\":2,\"timestamp\":1700000003500}\n");
  write_file(a + "/artifacts/model/config.json", "{\"hidden\": 256}\n");
  write_file(a + "/artifacts/report.txt", "ok\n");

  const std::string b = runs + "/default/" + kIdB;
  write_file(b + "/run.json", json{{"run_id", kIdB},
                                   {"experiment", "default"},
                                   {"run_name", "my run"},
                                   {"status", "FAILED"},
                                   {"start_time", 1700000100000},
                                   {"end_time", 1700000100500},
                                   {"command_line", "nlpc eval"},
                                   {"user", "bob"},
                                   {"host", "box"},
                                   {"git_commit", nullptr},
                                   {"seed", nullptr},
                                   {"error", "data.csv:3:2: bad label"},
                                   {"nlpc_version", "0.1.0"},
                                   {"libtorch_version", "1.13.0"}}
                                  .dump(2));
  fs::create_directories(b + "/artifacts");

  const std::string c = runs + "/exp-a/" + kIdC;
  write_file(c + "/run.json", json{{"run_id", kIdC},
                                   {"experiment", "exp-a"},
                                   {"run_name", "true"},
                                   {"status", "RUNNING"},
                                   {"start_time", 1700000200000},
                                   {"end_time", nullptr},
                                   {"command_line", "nlpc train"},
                                   {"user", "alice"}}
                                  .dump(2));
}

// Every file under root, relative path -> content.
std::map<std::string, std::string> tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), root).generic_string()] = read_file(e.path().string());
  }
  return out;
}

std::string run_meta(const std::string& root, const std::string& exp_id, const std::string& id,
                     const std::string& end, const std::string& name, int64_t start, int status,
                     const std::string& user) {
  return "artifact_uri: file://" + root + "/" + exp_id + "/" + id + "/artifacts\n" + "end_time: " + end + "\n" +
         "entry_point_name: ''\n" + "experiment_id: '" + exp_id + "'\n" + "lifecycle_stage: active\n" +
         "run_id: " + id + "\n" + "run_name: " + name + "\n" + "run_uuid: " + id + "\n" + "source_name: ''\n" +
         "source_type: 4\n" + "source_version: ''\n" + "start_time: " + std::to_string(start) + "\n" +
         "status: " + std::to_string(status) + "\n" + "tags: []\n" + "user_id: " + user + "\n";
}

}  // namespace

TEST_CASE("python_float_repr matches Python's repr(float)", "[runs]") {
  using nlpc::runs::python_float_repr;
  // Expected values printed by /usr/bin/python3 (repr of each float).
  const std::vector<std::pair<double, std::string>> cases = {
      {0.5, "0.5"},         {1.0, "1.0"},
      {1e-05, "1e-05"},     {0.0001, "0.0001"},
      {1e16, "1e+16"},      {1e15, "1000000000000000.0"},
      {0.1 + 0.2, "0.30000000000000004"}, {-2.5, "-2.5"},
      {123456.789, "123456.789"}, {1.5e-10, "1.5e-10"},
      {0.0, "0.0"},         {-0.0, "-0.0"},
      {2.0 / 3.0, "0.6666666666666666"}, {1e22, "1e+22"},
      {12345678901234567.0, "1.2345678901234568e+16"}, {0.00012345, "0.00012345"},
      {100.0, "100.0"},     {std::nan(""), "nan"},
      {HUGE_VAL, "inf"},    {-HUGE_VAL, "-inf"},
  };
  for (const auto& [v, s] : cases) CHECK(python_float_repr(v) == s);
}

TEST_CASE("yaml_string quotes like PyYAML's safe_dump", "[runs]") {
  using nlpc::runs::yaml_string;
  // Expected values printed by PyYAML 6.0 (yaml.safe_dump({'k': s})).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"wistful-ant-659", "wistful-ant-659"}, {"0", "'0'"}, {"606783375233873416", "'606783375233873416'"},
      {"true", "'true'"}, {"", "''"}, {"a: b", "'a: b'"}, {"it's", "it's"}, {"1.5", "'1.5'"}, {"1e5", "1e5"},
      {"2026-01-01", "'2026-01-01'"}, {"~", "'~'"}, {"null", "'null'"}, {"-x", "-x"}, {"#x", "'#x'"},
      {"a #b", "'a #b'"}, {"Yes", "'Yes'"}, {"0x1f", "'0x1f'"}, {"1_000", "'1_000'"}, {"'q'", "'''q'''"},
      {"x:y", "x:y"}, {"file:///tmp/a%20b", "file:///tmp/a%20b"}, {"3-layer", "3-layer"}, {":a", ":a"},
      {"- a", "'- a'"}, {"007", "'007'"}, {"1:30", "'1:30'"}, {"my run", "my run"},
  };
  for (const auto& [s, y] : cases) CHECK(yaml_string(s) == y);
}

TEST_CASE("file_uri percent-encodes like pathlib's as_uri", "[runs]") {
  CHECK(nlpc::runs::file_uri("/tmp/a b/\xc3\xbc~x_y-z.w+q") == "file:///tmp/a%20b/%C3%BC~x_y-z.w%2Bq");
}

TEST_CASE("param values are written as mlflow.log_params writes Python values", "[runs]") {
  using nlpc::runs::mlflow_param_value;
  CHECK(mlflow_param_value("x.csv") == "x.csv");
  CHECK(mlflow_param_value(256) == "256");
  CHECK(mlflow_param_value(0.001) == "0.001");
  CHECK(mlflow_param_value(1e-05) == "1e-05");
  CHECK(mlflow_param_value(true) == "True");
  CHECK(mlflow_param_value(json()) == "None");
  CHECK(mlflow_param_value(json{1, 2}) == "[1,2]");
}

TEST_CASE("export-mlflow writes MLflow's file-store layout, file by file", "[runs]") {
  spdlog::set_level(spdlog::level::warn);
  TempDir tmp;
  const std::string runs = tmp.file("runs");
  make_runs(runs);
  const std::string root = tmp.file("mlruns");
  // An experiment of the same name already in the store keeps its id.
  write_file(root + "/42/meta.yaml",
             "artifact_location: file://" + root + "/42\ncreation_time: 1\nexperiment_id: '42'\n"
             "last_update_time: 1\nlifecycle_stage: active\nname: exp-a\n");

  nlpc::runs::ExportMlflowOptions opts;
  opts.runs_dir = runs;
  opts.to = root;
  auto summary = nlpc::runs::export_mlflow(opts);
  CHECK(summary.runs == 3);
  CHECK(summary.experiments == 2);
  CHECK(fs::is_directory(root + "/.trash"));

  auto files = tree(root);
  std::set<std::string> names;
  for (const auto& [k, v] : files) names.insert(k);
  const std::string A = "42/" + kIdA + "/", B = "0/" + kIdB + "/", C = "42/" + kIdC + "/";
  const std::set<std::string> expected_names = {
      "0/meta.yaml",
      "42/meta.yaml",
      A + "meta.yaml",
      A + "params/lr",
      A + "params/model.hidden",
      A + "params/data/train",
      A + "params/use_cls",
      A + "params/layers",
      A + "params/note",
      A + "metrics/train/loss",
      A + "metrics/accuracy",
      A + "tags/purpose",
      A + "tags/mlflow.runName",
      A + "tags/mlflow.user",
      A + "tags/mlflow.source.name",
      A + "tags/mlflow.source.type",
      A + "tags/mlflow.source.git.commit",
      A + "tags/nlpc.command_line",
      A + "tags/nlpc.experiment",
      A + "tags/nlpc.host",
      A + "tags/nlpc.nlpc_version",
      A + "tags/nlpc.libtorch_version",
      A + "tags/nlpc.seed",
      A + "artifacts/model/config.json",
      A + "artifacts/report.txt",
      B + "meta.yaml",
      B + "tags/mlflow.runName",
      B + "tags/mlflow.user",
      B + "tags/mlflow.source.name",
      B + "tags/mlflow.source.type",
      B + "tags/nlpc.command_line",
      B + "tags/nlpc.experiment",
      B + "tags/nlpc.host",
      B + "tags/nlpc.nlpc_version",
      B + "tags/nlpc.libtorch_version",
      B + "tags/nlpc.error",
      C + "meta.yaml",
      C + "tags/mlflow.runName",
      C + "tags/mlflow.user",
      C + "tags/mlflow.source.name",
      C + "tags/mlflow.source.type",
      C + "tags/nlpc.command_line",
      C + "tags/nlpc.experiment",
  };
  CHECK(names == expected_names);
  for (const std::string& run : {A, B, C}) {
    for (const char* d : {"metrics", "params", "tags", "artifacts"}) CHECK(fs::is_directory(root + "/" + run + d));
  }

  // The Default experiment, as MLflow's FileStore creates it (times are the export time).
  CHECK(std::regex_match(files["0/meta.yaml"],
                         std::regex("artifact_location: file://" + root + "/0\ncreation_time: [0-9]{13}\n"
                                    "experiment_id: '0'\nlast_update_time: [0-9]{13}\nlifecycle_stage: active\n"
                                    "name: Default\n")));
  // Run meta.yaml: compare scripts/ref/mlflow_meta_yaml.py (PyYAML) for run A.
  CHECK(files[A + "meta.yaml"] ==
        run_meta(root, "42", kIdA, "1700000060000", "brave-otter-042", 1700000000000, 3, "alice"));
  CHECK(files[B + "meta.yaml"] == run_meta(root, "0", kIdB, "1700000100500", "my run", 1700000100000, 4, "bob"));
  CHECK(files[C + "meta.yaml"] == run_meta(root, "42", kIdC, "null", "'true'", 1700000200000, 1, "alice"));

  CHECK(files[A + "params/lr"] == "0.001");
  CHECK(files[A + "params/model.hidden"] == "256");
  CHECK(files[A + "params/data/train"] == "train.csv");
  CHECK(files[A + "params/use_cls"] == "True");
  CHECK(files[A + "params/layers"] == "[1,2]");
  CHECK(files[A + "params/note"] == "None");
  CHECK(files[A + "metrics/train/loss"] ==
        "1700000001000 0.5 0\n1700000002000 0.25 1\n1700000003000 nan 2\n");
  CHECK(files[A + "metrics/accuracy"] == "1700000002500 0.75 1\n1700000003500 1e-05 2\n");
  CHECK(files[A + "tags/purpose"] == "test");
  CHECK(files[A + "tags/mlflow.runName"] == "brave-otter-042");
  CHECK(files[A + "tags/mlflow.user"] == "alice");
  CHECK(files[A + "tags/mlflow.source.name"] == "/usr/bin/nlpc");
  CHECK(files[A + "tags/mlflow.source.type"] == "LOCAL");
  CHECK(files[A + "tags/mlflow.source.git.commit"] == kCommit);
  CHECK(files[A + "tags/nlpc.command_line"] == "/usr/bin/nlpc train --config c.json");
  CHECK(files[A + "tags/nlpc.experiment"] == "exp-a");
  CHECK(files[A + "tags/nlpc.host"] == "box");
  CHECK(files[A + "tags/nlpc.nlpc_version"] == "0.1.0");
  CHECK(files[A + "tags/nlpc.libtorch_version"] == "1.13.0");
  CHECK(files[A + "tags/nlpc.seed"] == "13");
  CHECK(files[A + "artifacts/model/config.json"] == "{\"hidden\": 256}\n");
  CHECK(files[A + "artifacts/report.txt"] == "ok\n");
  CHECK(files[B + "tags/mlflow.runName"] == "my run");
  CHECK(files[B + "tags/nlpc.error"] == "data.csv:3:2: bad label");
  CHECK(files[B + "tags/nlpc.experiment"] == "default");
  CHECK(files[C + "tags/mlflow.runName"] == "true");
  // The pre-existing experiment's meta.yaml is left alone.
  CHECK(files["42/meta.yaml"].find("creation_time: 1\n") != std::string::npos);

  SECTION("exporting again gives the same tree") {
    CHECK(nlpc::runs::export_mlflow(opts).runs == 3);
    CHECK(tree(root) == files);
  }
  SECTION("a new store gets stable experiment ids derived from the name") {
    nlpc::runs::ExportMlflowOptions o2 = opts;
    o2.to = tmp.file("mlruns2");
    o2.experiment = "exp-a";
    CHECK(nlpc::runs::export_mlflow(o2).runs == 2);
    const std::string id = nlpc::runs::stable_experiment_id("exp-a");
    CHECK(id == "154222099241446335");
    CHECK(fs::is_regular_file(o2.to + "/" + id + "/" + kIdA + "/meta.yaml"));
    CHECK(fs::is_regular_file(o2.to + "/0/meta.yaml"));
    CHECK_FALSE(fs::exists(o2.to + "/0/" + kIdB));
    CHECK(read_file(o2.to + "/" + id + "/meta.yaml").find("name: exp-a\n") != std::string::npos);
    auto first = tree(o2.to);
    nlpc::runs::export_mlflow(o2);
    CHECK(tree(o2.to) == first);
  }
  SECTION("errors") {
    nlpc::runs::ExportMlflowOptions bad = opts;
    bad.experiment = "nope";
    CHECK_THROWS_WITH(nlpc::runs::export_mlflow(bad), "no runs in experiment 'nope' under " + runs);
    bad = opts;
    bad.runs_dir = tmp.file("missing");
    CHECK_THROWS_AS(nlpc::runs::export_mlflow(bad), nlpc::UsageError);
  }
}
