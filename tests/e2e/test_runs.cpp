// `nlpc runs list | show | compare | export-mlflow` through the real binary, on runs recorded with
// the library (as `nlpc train` will record them).
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/core/system.h"
#include "nlpc/runs/mlflow_export.h"
#include "nlpc/runs/run.h"

namespace fs = std::filesystem;
using nlohmann::json;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
using nlpc::test::write_file;

namespace {

struct Recorded {
  std::string a, b, c;  // run ids
};

// Run a (FINISHED, exp "cls"), run b (FAILED, exp "cls"), run c (FINISHED, exp "other").
Recorded record_runs(const std::string& runs_dir) {
  spdlog::set_level(spdlog::level::warn);
  Recorded r;
  nlpc::runs::RunOptions o;
  o.runs_dir = runs_dir;
  o.experiment = "cls";
  o.run_name = "run-a";
  {
    auto run = nlpc::runs::Run::start(o);
    r.a = run.id();
    nlpc::runs::record(run, [&] {
      run.log_params(json{{"lr", 0.001}, {"model", {{"hidden", 64}, {"name", "bert"}}}, {"epochs", 3}});
      run.set_seed(1);
      for (int s = 0; s < 3; ++s) {
        run.log_metric("train/loss", 1.0 - 0.25 * s, s);
        run.log_metric("eval/accuracy", 0.5 + 0.125 * s, s);
      }
      write_file(run.artifact_path("model/config.json"), "{}\n");
    });
  }
  o.run_name = "run-b";
  {
    auto run = nlpc::runs::Run::start(o);
    r.b = run.id();
    try {
      nlpc::runs::record(run, [&] {
        run.log_params(json{{"lr", 0.01}, {"model", {{"hidden", 64}, {"name", "bert"}}}, {"epochs", 3}});
        run.log_metric("train/loss", 0.9, 0);
        run.log_metric("train/loss", 0.4, 1);
        run.log_metric("train/loss", 0.6, 2);
        run.log_metric("eval/accuracy", 0.8, 0);
        run.log_metric("eval/accuracy", 0.7, 1);
        throw nlpc::RuntimeError("loss is NaN");
      });
    } catch (const nlpc::RuntimeError&) {
    }
  }
  o.experiment = "other";
  o.run_name = "run-c";
  {
    auto run = nlpc::runs::Run::start(o);
    r.c = run.id();
    run.end(nlpc::runs::RunStatus::kFinished);
  }
  return r;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::string line;
  for (char ch : s) {
    if (ch == '\n') {
      out.push_back(line);
      line.clear();
    } else {
      line += ch;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("nlpc runs list shows runs newest first, as a table or JSON", "[runs]") {
  TempDir tmp;
  const std::string runs = tmp.file("runs");
  Recorded r = record_runs(runs);

  auto res = run_nlpc("runs list --runs-dir '" + runs + "'");
  REQUIRE(res.exit_code == 0);
  auto lines = lines_of(res.out);
  REQUIRE(lines.size() == 4);
  CHECK(std::regex_match(lines[0], std::regex("RUN_ID +EXPERIMENT +NAME +STATUS +START +DURATION")));
  CHECK(std::regex_match(lines[1], std::regex(r.c + "  other +run-c +FINISHED +[0-9-]{10} [0-9:]{8}  [0-9]+s")));
  CHECK(std::regex_match(lines[2], std::regex(r.b + "  cls +run-b +FAILED +.*")));
  CHECK(std::regex_match(lines[3], std::regex(r.a + "  cls +run-a +FINISHED +.*")));

  // NLPC_RUNS_DIR instead of --runs-dir; --experiment filters.
  res = run_nlpc("runs list --experiment cls --format json", "", "NLPC_RUNS_DIR='" + runs + "'");
  REQUIRE(res.exit_code == 0);
  json j = json::parse(res.out);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["run_id"] == r.b);
  CHECK(j[0]["status"] == "FAILED");
  CHECK(j[0]["error"] == "loss is NaN");
  CHECK(j[0]["final_metrics"] == json{{"eval/accuracy", 0.7}, {"train/loss", 0.6}});
  CHECK(j[1]["run_id"] == r.a);
  CHECK(j[1]["run_name"] == "run-a");
  CHECK(j[1]["seed"] == 1);
  CHECK(j[1]["final_metrics"] == json{{"eval/accuracy", 0.75}, {"train/loss", 0.5}});

  res = run_nlpc("runs list --runs-dir '" + tmp.file("empty") + "' --format json");
  CHECK(res.exit_code == 0);
  CHECK(res.out == "[]\n");
  CHECK(run_nlpc("runs list --format xml").exit_code == 2);
}

TEST_CASE("nlpc runs list marks RUNNING runs whose process is gone", "[runs]") {
  TempDir tmp;
  const std::string id = "0123456789abcdef0123456789abcdef";
  write_file(tmp.file("runs/default/" + id + "/run.json"),
             json{{"run_id", id}, {"experiment", "default"}, {"run_name", "crashed"}, {"status", "RUNNING"},
                  {"start_time", nlpc::now_ms()}, {"end_time", nullptr}, {"host", nlpc::host_name()},
                  {"pid", 2147483000}}
                 .dump());
  auto res = run_nlpc("runs list --runs-dir '" + tmp.file("runs") + "'");
  REQUIRE(res.exit_code == 0);
  CHECK(std::regex_search(res.out, std::regex(id + "  default +crashed +RUNNING \\(process gone\\) .* -\n")));
}

TEST_CASE("nlpc runs show prints the record, params, final metrics and artifacts", "[runs]") {
  TempDir tmp;
  const std::string runs = tmp.file("runs");
  Recorded r = record_runs(runs);
  auto res = run_nlpc("runs show --runs-dir '" + runs + "' " + r.a.substr(0, 10));
  REQUIRE(res.exit_code == 0);
  const std::string& out = res.out;
  CHECK(std::regex_search(out, std::regex("^run_id: +" + r.a + "\nname: +run-a\nexperiment: +cls\n"
                                          "status: +FINISHED\n")));
  CHECK_THAT(out, Catch::Contains("\nparams (4):\n  epochs        3\n  lr            0.001\n"
                                  "  model.hidden  64\n  model.name    bert\n"));
  CHECK_THAT(out, Catch::Contains("\nmetrics (2; best = max, or min for loss-like keys):\n"
                                  "  KEY            FINAL  STEP  BEST        BEST_STEP  POINTS\n"
                                  "  eval/accuracy  0.75   2     0.75 (max)  2          3\n"
                                  "  train/loss     0.5    2     0.5 (min)   2          3\n"));
  CHECK_THAT(out, Catch::EndsWith("\nartifacts (1):\n  model/config.json\n"));
  CHECK(std::regex_search(out, std::regex("\nseed: +1\n")));
  CHECK(std::regex_search(out, std::regex("\ncommand_line: +\\S*nlpc_e2e_tests")));

  res = run_nlpc("runs show --format json --runs-dir '" + runs + "' " + r.b);
  REQUIRE(res.exit_code == 0);
  json j = json::parse(res.out);
  CHECK(j["run"]["status"] == "FAILED");
  CHECK(j["run"]["error"] == "loss is NaN");
  CHECK(j["params"]["lr"] == 0.01);
  CHECK(j["metrics"]["train/loss"] == json{{"final", 0.6}, {"final_step", 2}, {"best", 0.4}, {"best_step", 1},
                                           {"count", 3}, {"lower_is_better", true}});
  CHECK(j["artifacts"] == json::array());

  res = run_nlpc("runs show --runs-dir '" + runs + "' ffff");
  CHECK(res.exit_code == 2);
  CHECK_THAT(res.err, Catch::Contains("no run with an id starting with 'ffff'"));
}

TEST_CASE("nlpc runs compare shows the params that differ and final/best metrics", "[runs]") {
  TempDir tmp;
  const std::string runs = tmp.file("runs");
  Recorded r = record_runs(runs);
  auto res = run_nlpc("runs compare --runs-dir '" + runs + "' " + r.a + " " + r.b.substr(0, 8));
  REQUIRE(res.exit_code == 0);
  CHECK(res.out ==
        "runs:\n"
        "      RUN_ID                            NAME   EXPERIMENT  STATUS\n"
        "  #1  " + r.a + "  run-a  cls         FINISHED\n"
        "  #2  " + r.b + "  run-b  cls         FAILED\n"
        "\nparams that differ (1):\n"
        "  PARAM  #1 run-a  #2 run-b\n"
        "  lr     0.001     0.01\n"
        "\nmetrics (final / best; best = max, or min for loss-like keys):\n"
        "  METRIC               #1 run-a     #2 run-b\n"
        "  eval/accuracy (max)  0.75 / 0.75  0.7 / 0.8\n"
        "  train/loss (min)     0.5 / 0.5    0.6 / 0.4\n");

  res = run_nlpc("runs compare --format json --metric train/loss --runs-dir '" + runs + "' " + r.a + " " + r.b +
                 " " + r.c);
  REQUIRE(res.exit_code == 0);
  json j = json::parse(res.out);
  CHECK(j["runs"].size() == 3);
  CHECK(j["params_differ"]["lr"] == json{0.001, 0.01, nullptr});
  CHECK(j["params_differ"]["epochs"] == json{3, 3, nullptr});
  CHECK(j["metrics"].size() == 1);
  CHECK(j["metrics"]["train/loss"][0]["final"] == 0.5);
  CHECK(j["metrics"]["train/loss"][1]["best"] == 0.4);
  CHECK(j["metrics"]["train/loss"][2].is_null());

  res = run_nlpc("runs compare --runs-dir '" + runs + "' " + r.a);
  CHECK(res.exit_code == 2);
  res = run_nlpc("runs compare --metric f1 --runs-dir '" + runs + "' " + r.a + " " + r.b);
  CHECK(res.exit_code == 2);
  CHECK_THAT(res.err, Catch::Contains("no run has metric 'f1' (metrics: eval/accuracy, train/loss)"));
}

TEST_CASE("nlpc runs export-mlflow writes an MLflow file store", "[runs]") {
  TempDir tmp;
  const std::string runs = tmp.file("runs");
  Recorded r = record_runs(runs);
  const std::string to = tmp.file("mlruns");
  auto res = run_nlpc("runs export-mlflow --runs-dir '" + runs + "' --to '" + to + "'");
  REQUIRE(res.exit_code == 0);
  CHECK(res.out == "exported 3 runs of 2 experiments to " + to + "\n");
  CHECK(fs::is_regular_file(to + "/0/meta.yaml"));
  const std::string cls = nlpc::runs::stable_experiment_id("cls");
  CHECK_THAT(read_file(to + "/" + cls + "/meta.yaml"), Catch::EndsWith("name: cls\n"));
  CHECK_THAT(read_file(to + "/" + cls + "/" + r.b + "/meta.yaml"), Catch::Contains("\nstatus: 4\n"));
  CHECK(read_file(to + "/" + cls + "/" + r.a + "/params/model.hidden") == "64");
  CHECK(read_file(to + "/" + cls + "/" + r.a + "/artifacts/model/config.json") == "{}\n");
  CHECK(lines_of(read_file(to + "/" + cls + "/" + r.a + "/metrics/train/loss")).size() == 3);
  CHECK(run_nlpc("runs export-mlflow --runs-dir '" + runs + "'").exit_code == 2);  // --to is required
}
