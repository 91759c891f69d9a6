// Run folders: life cycle, files, metrics, failure/kill handling, lookup, summaries, git commit.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/core/signals.h"
#include "nlpc/core/system.h"
#include "nlpc/core/config.h"
#include "nlpc/runs/run.h"
#include "nlpc/runs/store.h"

namespace fs = std::filesystem;
using nlohmann::json;
using nlpc::runs::Run;
using nlpc::runs::RunOptions;
using nlpc::runs::RunStatus;
using nlpc::test::read_file;
using nlpc::test::TempDir;
using nlpc::test::write_file;

namespace {

RunOptions options_in(const TempDir& tmp, const std::string& experiment = "exp") {
  spdlog::set_level(spdlog::level::warn);
  RunOptions o;
  o.runs_dir = tmp.file("runs");
  o.experiment = experiment;
  return o;
}

json read_json(const std::string& path) { return json::parse(read_file(path)); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) break;
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("a run folder is created RUNNING with run.json, params, tags, metrics and artifacts", "[runs]") {
  TempDir tmp;
  RunOptions o = options_in(tmp);
  o.run_name = "my-run";
  o.command_line = "nlpc train --config c.json";
  const int64_t t0 = nlpc::now_ms();
  Run run = Run::start(o);
  const fs::path dir = fs::path(tmp.file("runs")) / "exp" / run.id();
  CHECK(run.dir() == dir.string());
  CHECK(std::regex_match(run.id(), std::regex("[0-9a-f]{32}")));
  for (const char* f : {"run.json", "params.json", "tags.json", "metrics.jsonl"}) CHECK(fs::is_regular_file(dir / f));
  CHECK(fs::is_directory(dir / "artifacts"));

  json info = read_json((dir / "run.json").string());
  CHECK(info["run_id"] == run.id());
  CHECK(info["experiment"] == "exp");
  CHECK(info["run_name"] == "my-run");
  CHECK(info["status"] == "RUNNING");
  CHECK(info["start_time"].get<int64_t>() >= t0);
  CHECK(info["end_time"].is_null());
  CHECK(info["command_line"] == "nlpc train --config c.json");
  CHECK(info["nlpc_version"] == nlpc::nlpc_version());
  CHECK(info["libtorch_version"] == nlpc::libtorch_version());
  CHECK(info["host"] == nlpc::host_name());
  CHECK(info["user"] == nlpc::user_name());
  CHECK(info["pid"] == static_cast<int64_t>(getpid()));
  CHECK(info["seed"].is_null());
  CHECK(info.contains("git_commit"));
  CHECK(read_file((dir / "params.json").string()) == "{}\n");
  CHECK(read_file((dir / "tags.json").string()) == "{}\n");
  CHECK(read_file((dir / "metrics.jsonl").string()).empty());

  run.log_params(json{{"lr", 0.001}, {"model", {{"hidden", 256}, {"act", "gelu"}, {"sub", {{"x", true}}}}},
                      {"labels", {"a", "b"}}});
  run.set_tag("purpose", "unit test");
  run.set_seed(13);
  CHECK(read_json((dir / "params.json").string()) ==
        json{{"lr", 0.001}, {"model.hidden", 256}, {"model.act", "gelu"}, {"model.sub.x", true}, {"labels", {"a", "b"}}});
  CHECK(read_json((dir / "tags.json").string()) == json{{"purpose", "unit test"}});
  CHECK(read_json((dir / "run.json").string())["seed"] == 13);

  const std::string model = run.artifact_path("model/config.json");
  CHECK(model == (dir / "artifacts" / "model" / "config.json").string());
  CHECK(fs::is_directory(dir / "artifacts" / "model"));
  CHECK_THROWS_AS(run.artifact_path("../escape"), nlpc::UsageError);

  const int result = nlpc::runs::record(run, [] { return 7; });
  CHECK(result == 7);
  info = read_json((dir / "run.json").string());
  CHECK(info["status"] == "FINISHED");
  CHECK(info["end_time"].get<int64_t>() >= info["start_time"].get<int64_t>());
  CHECK_FALSE(info.contains("error"));
  CHECK(run.status() == RunStatus::kFinished);
}

TEST_CASE("metrics are appended to metrics.jsonl as they are logged", "[runs]") {
  TempDir tmp;
  Run run = Run::start(options_in(tmp));
  const std::string path = run.dir() + "/metrics.jsonl";
  const int64_t t0 = nlpc::now_ms();
  run.log_metric("train/loss", 0.5, 0);
  // Visible on disk right away (flushed), before the run ends.
  CHECK(lines_of(read_file(path)).size() == 1);
  run.log_metric("train/loss", 0.25, 1);
  run.log_metric("accuracy", 0.75, 1);
  run.log_metric("eval/loss", std::nan(""), 2);
  const int64_t t1 = nlpc::now_ms();
  auto lines = lines_of(read_file(path));
  REQUIRE(lines.size() == 4);
  std::regex shape(R"(\{"key":"train/loss","value":0\.5,"step":0,"timestamp":(\d+)\})");
  std::smatch m;
  REQUIRE(std::regex_match(lines[0], m, shape));
  CHECK(std::stoll(m[1]) >= t0);
  CHECK(std::stoll(m[1]) <= t1);
  CHECK(std::regex_match(lines[3], std::regex(R"(\{"key":"eval/loss","value":"NaN","step":2,"timestamp":\d+\})")));

  auto points = nlpc::runs::read_metrics(path);
  REQUIRE(points.size() == 4);
  CHECK(points[1].key == "train/loss");
  CHECK(points[1].value == 0.25);
  CHECK(points[1].step == 1);
  CHECK(points[2].key == "accuracy");
  CHECK(std::isnan(points[3].value));

  CHECK_THROWS_AS(run.log_metric("", 1.0, 0), nlpc::UsageError);
  CHECK_THROWS_AS(run.log_metric("a//b", 1.0, 0), nlpc::UsageError);
  CHECK_THROWS_AS(run.log_metric("../x", 1.0, 0), nlpc::UsageError);
  CHECK_THROWS_AS(run.log_metric("a\"b", 1.0, 0), nlpc::UsageError);
  CHECK_NOTHROW(run.log_metric("eval/macro f1:v2", 1.0, 0));
  run.end(RunStatus::kFinished);
}

TEST_CASE("an exception marks the run FAILED with the error and keeps what was logged", "[runs]") {
  TempDir tmp;
  Run run = Run::start(options_in(tmp));
  CHECK_THROWS_WITH(nlpc::runs::record(run,
                                       [&] {
                                         run.log_metric("loss", 1.5, 0);
                                         run.log_metric("loss", 1.25, 1);
                                         throw nlpc::RuntimeError("loss is NaN at step 2: lower the learning rate");
                                       }),
                    "loss is NaN at step 2: lower the learning rate");
  json info = read_json(run.dir() + "/run.json");
  CHECK(info["status"] == "FAILED");
  CHECK(info["error"] == "loss is NaN at step 2: lower the learning rate");
  CHECK(info["end_time"].is_number_integer());
  CHECK(nlpc::runs::read_metrics(run.dir() + "/metrics.jsonl").size() == 2);
}

TEST_CASE("InterruptedError marks the run KILLED with the signal", "[runs]") {
  TempDir tmp;
  Run run = Run::start(options_in(tmp));
  CHECK_THROWS_AS(nlpc::runs::record(run, [] { throw nlpc::InterruptedError(SIGINT); }), nlpc::InterruptedError);
  json info = read_json(run.dir() + "/run.json");
  CHECK(info["status"] == "KILLED");
  CHECK(info["signal"] == "SIGINT");
  CHECK(info["end_time"].is_number_integer());
  CHECK_FALSE(info.contains("error"));
}

TEST_CASE("a run destroyed without being ended is recorded as FAILED", "[runs]") {
  TempDir tmp;
  std::string dir;
  {
    Run run = Run::start(options_in(tmp));
    dir = run.dir();
  }
  json info = read_json(dir + "/run.json");
  CHECK(info["status"] == "FAILED");
  CHECK(info["error"] == "the command stopped before finishing the run");
  // Ending twice is a no-op.
  Run reopened = Run::open(dir);
  CHECK(reopened.ended());
  reopened.end(RunStatus::kFinished);
  CHECK(read_json(dir + "/run.json")["status"] == "FAILED");
}

TEST_CASE("run names are generated adjective-animal-NNN unless given", "[runs]") {
  std::regex shape("[a-z]+-[a-z]+-[0-9]{3}");
  for (int i = 0; i < 20; ++i) CHECK(std::regex_match(nlpc::runs::random_run_name(), shape));
  CHECK(nlpc::runs::new_run_id() != nlpc::runs::new_run_id());
  TempDir tmp;
  Run run = Run::start(options_in(tmp));
  CHECK(std::regex_match(run.name(), shape));
  run.end(RunStatus::kFinished);
}

TEST_CASE("runs dir: flag, then NLPC_RUNS_DIR, then ./runs; experiment names are checked", "[runs]") {
  const char* old = std::getenv("NLPC_RUNS_DIR");
  std::string saved = old ? old : "";
  setenv("NLPC_RUNS_DIR", "/tmp/from-env", 1);
  CHECK(nlpc::runs::resolve_runs_dir("mine") == "mine");
  CHECK(nlpc::runs::resolve_runs_dir("") == "/tmp/from-env");
  unsetenv("NLPC_RUNS_DIR");
  CHECK(nlpc::runs::resolve_runs_dir("") == "runs");
  if (old) setenv("NLPC_RUNS_DIR", saved.c_str(), 1);

  CHECK_NOTHROW(nlpc::runs::validate_experiment_name("sentiment-v2.1_a"));
  for (const char* bad : {"", ".hidden", "a/b", "a b", ".."}) {
    CHECK_THROWS_AS(nlpc::runs::validate_experiment_name(bad), nlpc::UsageError);
  }
  TempDir tmp;
  CHECK_THROWS_WITH(Run::start(options_in(tmp, "../up")),
                    Catch::Contains("invalid experiment name '../up'"));
}

TEST_CASE("flatten_json turns nested objects into dotted keys", "[runs]") {
  json j = {{"a", {{"b", 1}, {"c", {{"d", "x"}}}, {"e", json::object()}}}, {"f", {1, 2}}, {"g", nullptr}};
  CHECK(nlpc::flatten_json(j) == json{{"a.b", 1}, {"a.c.d", "x"}, {"f", {1, 2}}, {"g", nullptr}});
}

TEST_CASE("git commit is read from HEAD, loose refs, packed refs and worktree .git files", "[runs]") {
  TempDir tmp;
  const std::string c1(40, 'a'), c2(40, 'b'), c3(40, 'c');
  write_file(tmp.file("repo/.git/HEAD"), "ref: refs/heads/main\n");
  write_file(tmp.file("repo/.git/refs/heads/main"), c1 + "\n");
  fs::create_directories(tmp.file("repo/sub/dir"));
  CHECK(nlpc::runs::git_commit(tmp.file("repo/sub/dir")) == c1);

  write_file(tmp.file("packed/.git/HEAD"), "ref: refs/heads/dev\n");
  write_file(tmp.file("packed/.git/packed-refs"), "# pack-refs with: peeled\n" + c2 + " refs/heads/dev\n");
  CHECK(nlpc::runs::git_commit(tmp.file("packed")) == c2);

  // A worktree: .git is a file pointing at <common>/worktrees/wt, whose commondir points back.
  write_file(tmp.file("repo/.git/worktrees/wt/HEAD"), "ref: refs/heads/feature\n");
  write_file(tmp.file("repo/.git/worktrees/wt/commondir"), "../..\n");
  write_file(tmp.file("repo/.git/refs/heads/feature"), c3 + "\n");
  write_file(tmp.file("wt/.git"), "gitdir: " + tmp.file("repo/.git/worktrees/wt") + "\n");
  CHECK(nlpc::runs::git_commit(tmp.file("wt")) == c3);

  write_file(tmp.file("detached/.git/HEAD"), c2 + "\n");
  CHECK(nlpc::runs::git_commit(tmp.file("detached")) == c2);
  fs::create_directories(tmp.file("plain"));
  if (!nlpc::runs::git_commit("/").has_value()) CHECK_FALSE(nlpc::runs::git_commit(tmp.file("plain")).has_value());
}

TEST_CASE("metrics.jsonl reader: a torn last line is ignored, a bad line is an error with its line", "[runs]") {
  TempDir tmp;
  const std::string path = tmp.file("metrics.jsonl");
  write_file(path,
             "{\"key\":\"loss\",\"value\":1.0,\"step\":0,\"timestamp\":10}\n"
             "{\"key\":\"loss\",\"value\":0.5,\"step\":1,\"timestamp\":20}\n"
             "{\"key\":\"loss\",\"val");
  auto points = nlpc::runs::read_metrics(path);
  REQUIRE(points.size() == 2);
  CHECK(points[1].value == 0.5);
  write_file(path,
             "{\"key\":\"loss\",\"value\":1.0,\"step\":0,\"timestamp\":10}\n"
             "{\"key\":\"loss\",\"step\":1,\"timestamp\":20}\n");
  CHECK_THROWS_WITH(nlpc::runs::read_metrics(path),
                    path + ":2: malformed metric line (expected {\"key\",\"value\",\"step\",\"timestamp\"}): "
                           "missing \"value\"");
}

TEST_CASE("metric summaries: final at the last step, best is max or min for loss-like keys", "[runs]") {
  using nlpc::runs::lower_is_better;
  CHECK(lower_is_better("train/loss"));
  CHECK(lower_is_better("val_loss"));
  CHECK(lower_is_better("eval.wer"));
  CHECK(lower_is_better("Perplexity"));
  CHECK_FALSE(lower_is_better("accuracy"));
  CHECK_FALSE(lower_is_better("eval/f1"));
  CHECK_FALSE(lower_is_better("answer_power"));

  std::vector<nlpc::runs::MetricPoint> pts = {
      {"loss", 2.0, 0, 1}, {"loss", 0.5, 2, 3}, {"loss", 0.8, 3, 4}, {"acc", 0.6, 1, 2},
      {"acc", 0.9, 2, 3},  {"acc", 0.7, 3, 4},  {"acc", 0.1, 1, 5},  // late line for an old step: not final
  };
  auto s = nlpc::runs::summarize_metrics(pts);
  REQUIRE(s.size() == 2);
  CHECK(s[0].key == "acc");
  CHECK(s[0].final_value == 0.7);
  CHECK(s[0].final_step == 3);
  CHECK(s[0].best_value == 0.9);
  CHECK(s[0].best_step == 2);
  CHECK(s[0].count == 4);
  CHECK_FALSE(s[0].lower_is_better);
  CHECK(s[1].key == "loss");
  CHECK(s[1].final_value == 0.8);
  CHECK(s[1].best_value == 0.5);
  CHECK(s[1].best_step == 2);
  CHECK(s[1].lower_is_better);
}

TEST_CASE("runs are listed newest first and found by a unique id prefix", "[runs]") {
  TempDir tmp;
  const std::string runs = tmp.file("runs");
  auto make = [&](const std::string& exp, const std::string& id, int64_t start) {
    write_file(runs + "/" + exp + "/" + id + "/run.json",
               json{{"run_id", id}, {"experiment", exp}, {"run_name", "n" + id.substr(0, 3)}, {"status", "FINISHED"},
                    {"start_time", start}, {"end_time", start + 5}}
                   .dump());
  };
  make("a", "abc11111111111111111111111111111", 100);
  make("a", "abc22222222222222222222222222222", 300);
  make("b", "def33333333333333333333333333333", 200);
  fs::create_directories(runs + "/b/not-a-run");
  write_file(runs + "/b/broken0000000000000000000000000/run.json", "{ not json");

  auto all = nlpc::runs::list_runs(runs);
  REQUIRE(all.size() == 3);
  CHECK(all[0].id() == "abc22222222222222222222222222222");
  CHECK(all[1].id() == "def33333333333333333333333333333");
  CHECK(all[2].id() == "abc11111111111111111111111111111");
  CHECK(nlpc::runs::list_runs(runs, "b").size() == 1);
  CHECK(nlpc::runs::list_runs(runs, "none").empty());

  CHECK(nlpc::runs::find_run(runs, "def") == runs + "/b/def33333333333333333333333333333");
  CHECK(nlpc::runs::find_run(runs, "abc2") == runs + "/a/abc22222222222222222222222222222");
  CHECK_THROWS_WITH(nlpc::runs::find_run(runs, "abc"),
                    "run id prefix 'abc' is ambiguous; it matches 2 runs (give more characters):\n"
                    "  a/abc11111111111111111111111111111\n  a/abc22222222222222222222222222222");
  CHECK_THROWS_WITH(nlpc::runs::find_run(runs, "fff"),
                    "no run with an id starting with 'fff' in " + runs + " (see `nlpc runs list`)");
}

TEST_CASE("a RUNNING run whose process is gone is reported as such", "[runs]") {
  TempDir tmp;
  const std::string dir = tmp.file("runs/e/0123456789abcdef0123456789abcdef");
  json info = {{"run_id", "0123456789abcdef0123456789abcdef"}, {"experiment", "e"}, {"run_name", "x"},
               {"status", "RUNNING"}, {"start_time", 1}, {"end_time", nullptr}, {"host", nlpc::host_name()},
               {"pid", 2147483000}};
  write_file(dir + "/run.json", info.dump());
  CHECK(nlpc::runs::load_run(dir).process_gone());
  info["pid"] = static_cast<int64_t>(getpid());
  write_file(dir + "/run.json", info.dump());
  CHECK_FALSE(nlpc::runs::load_run(dir).process_gone());
}

// Acceptance: SIGTERM to a process recording a run ends it KILLED, with its end time and every
// metric logged before the signal intact.
TEST_CASE("SIGTERM marks a running job KILLED and keeps every metric logged before it", "[runs]") {
  TempDir tmp;
  RunOptions o = options_in(tmp, "sig");
  o.run_name = "sigterm-child";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 1;
    try {
      nlpc::reset_interrupted();
      nlpc::install_signal_handlers();
      Run run = Run::start(o);
      nlpc::runs::record(run, [&] {
        for (int64_t step = 0; step < 1000000; ++step) {
          nlpc::check_interrupted();
          run.log_metric("train/loss", 1.0 / static_cast<double>(step + 1), step);
          usleep(500);
        }
      });
      code = 0;
    } catch (const nlpc::InterruptedError& e) {
      code = e.exit_code();
    } catch (...) {
      code = 1;
    }
    _exit(code);
  }

  // Wait until at least 50 metrics are on disk.
  const fs::path exp_dir = fs::path(o.runs_dir) / "sig";
  std::string run_dir, before;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (run_dir.empty() && fs::is_directory(exp_dir, ec)) {
      for (const auto& e : fs::directory_iterator(exp_dir, ec)) run_dir = e.path().string();
    }
    if (!run_dir.empty() && fs::exists(run_dir + "/metrics.jsonl")) {
      before = read_file(run_dir + "/metrics.jsonl");
      if (lines_of(before).size() >= 50) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto logged_before = lines_of(before);
  // Only complete lines count as logged.
  before = before.substr(0, before.rfind('\n') + 1);
  REQUIRE(kill(pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(logged_before.size() >= 50);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGTERM);

  json info = read_json(run_dir + "/run.json");
  CHECK(info["status"] == "KILLED");
  CHECK(info["signal"] == "SIGTERM");
  CHECK(info["run_name"] == "sigterm-child");
  REQUIRE(info["end_time"].is_number_integer());
  CHECK(info["end_time"].get<int64_t>() >= info["start_time"].get<int64_t>());

  const std::string after = read_file(run_dir + "/metrics.jsonl");
  CHECK(after.compare(0, before.size(), before) == 0);  // everything logged before the signal
  CHECK(after.back() == '\n');
  auto points = nlpc::runs::read_metrics(run_dir + "/metrics.jsonl");  // every line well-formed
  REQUIRE(points.size() >= logged_before.size());
  for (size_t i = 0; i < points.size(); ++i) {
    CHECK(points[i].key == "train/loss");
    CHECK(points[i].step == static_cast<int64_t>(i));
    CHECK(points[i].value == 1.0 / static_cast<double>(i + 1));
  }
}
