// End-to-end: nlpc train / eval / runs report with the n-gram baseline on a small real dataset.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "../xml_check.h"

using nlohmann::json;
using nlpc::test::fixture;
using nlpc::test::metrics_final;
using nlpc::test::run_id_of;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
namespace fs = std::filesystem;

namespace {
std::string baseline_args(const TempDir& d, const std::string& extra = "") {
  return "--threads 1 train --runs-dir '" + d.file("runs") + "' --experiment e2e --set task=classification"
         " --set data.train=" + fixture("data/train.csv") + " --set data.valid=" + fixture("data/valid.csv") +
         " --set data.test=" + fixture("data/test.csv") +
         " --set data.label_column=section --set model.type=ngram --set train.epochs=5 " + extra;
}

}  // namespace

TEST_CASE("train: n-gram baseline end to end, recorded as a run", "[e2e][train]") {
  TempDir d;
  auto r = run_nlpc(baseline_args(d, "--run-name base"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string id = run_id_of(r.out);
  const std::string dir = d.file("runs/e2e/" + id);
  CHECK_THAT(r.out, Catch::Contains("accuracy"));
  auto info = json::parse(read_file(dir + "/run.json"));
  CHECK(info["status"] == "FINISHED");
  CHECK(info["run_name"] == "base");
  auto params = json::parse(read_file(dir + "/params.json"));
  CHECK(params["train.lr"] == 0.5);  // the model-type default, recorded
  CHECK(params["data.label_column"] == "section");
  CHECK(params["data.num_labels"] == 6);
  auto m = metrics_final(dir);
  REQUIRE(m.contains("test/accuracy"));
  CHECK(m["test/accuracy"].get<double>() > 0.6);
  CHECK(m.contains("valid/accuracy"));
  CHECK(m.contains("test/f1_macro"));
  for (const char* f : {"model/config.json", "model/model.safetensors", "confusion_matrix.csv", "confusion_matrix.json",
                        "label_map.json", "config.json", "classification_report.json", "confusion_matrix.svg"}) {
    CHECK(fs::exists(dir + "/artifacts/" + f));
  }
  auto cm = json::parse(read_file(dir + "/artifacts/confusion_matrix.json"));
  CHECK(cm["labels"].size() == 6);
  int64_t total = 0;
  for (auto& row : cm["matrix"])
    for (auto& v : row) total += v.get<int64_t>();
  CHECK(total == 88);

  SECTION("eval with bootstrap, errors and gates") {
    const std::string model = dir + "/artifacts/model";
    auto e = run_nlpc("--threads 1 eval --runs-dir '" + d.file("runs") + "' --model " + model + " --data " +
                      fixture("data/test.csv") + " --label-column section --bootstrap 200 --errors 2 --errors-output " +
                      d.file("errors.csv") + " --gate \"accuracy>=0.5\"");
    INFO(e.err);
    REQUIRE(e.exit_code == 0);
    CHECK_THAT(e.out, Catch::Contains("PASS accuracy"));
    CHECK(std::regex_search(e.out, std::regex(R"(accuracy\s+0\.\d{4}\s+\[0\.\d{4}, [01]\.\d{4}\])")));
    const std::string errors = read_file(d.file("errors.csv"));
    CHECK(errors.rfind("true_label,predicted_label,confidence,p_true,line,text\n", 0) == 0);
    auto fail = run_nlpc("--threads 1 eval --runs-dir '" + d.file("runs") + "' --model " + model + " --data " +
                         fixture("data/test.csv") + " --label-column section --gate \"accuracy>=0.999\"");
    CHECK(fail.exit_code == 3);
    CHECK_THAT(fail.out, Catch::Contains("FAIL accuracy"));
    auto base = run_nlpc("--threads 1 eval --runs-dir '" + d.file("runs") + "' --model " + model + " --data " +
                         fixture("data/test.csv") + " --label-column section --baseline " + id.substr(0, 8) +
                         " --max-drop 0.0");
    CHECK(base.exit_code == 0);  // the same model on the same data: no drop
    CHECK_THAT(base.out, Catch::Contains("vs baseline"));
  }

  SECTION("a label unseen in training is an error naming file, line and label") {
    TempDir t;
    nlpc::test::write_file(t.file("bad.csv"), "section,text\npython,a python library\nbanana,a fruit\n");
    auto e = run_nlpc("eval --runs-dir '" + d.file("runs") + "' --model " + dir + "/artifacts/model --data " +
                      t.file("bad.csv") + " --label-column section");
    CHECK(e.exit_code == 2);
    CHECK_THAT(e.err, Catch::Contains(t.file("bad.csv") + ":3: label 'banana' does not occur in the training data"));
  }
}

TEST_CASE("train: bad input is a clear usage error", "[e2e][train]") {
  TempDir d;
  auto typo = run_nlpc(baseline_args(d, "--set train.epoch=3"));
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("unknown configuration key 'train.epoch' (did you mean 'train.epochs'?)"));
  auto col = run_nlpc(baseline_args(d, "--set data.text_column=body"));
  CHECK(col.exit_code == 2);
  CHECK_THAT(col.err, Catch::Contains("body"));
  CHECK_THAT(col.err, Catch::Contains("\"package\", \"section\", \"tags\", \"text\""));
  nlpc::test::write_file(d.file("empty.csv"), "section,text\npython,\"  \"\ngames,a game\npython,a lib\n");
  auto empty = run_nlpc(baseline_args(d, "--set data.train=" + d.file("empty.csv") + " --set data.valid= --set data.test="));
  INFO(empty.err);
  CHECK(empty.exit_code == 0);  // empty texts are skipped and counted
  CHECK_THAT(empty.err, Catch::Contains("skipped 1 row(s) with an empty text (first at line 2)"));
  auto fail = run_nlpc(baseline_args(d, "--set data.train=" + d.file("empty.csv") + " --set data.empty_text=fail"));
  CHECK(fail.exit_code == 2);
  CHECK_THAT(fail.err, Catch::Contains(d.file("empty.csv") + ":2:"));
}

TEST_CASE("runs report renders the runs made by the test suite", "[e2e][report]") {
  TempDir d;
  std::vector<std::string> ids;
  for (const char* extra : {"--set model.ngram.solver=sgd --set train.seed=1",
                            "--set model.ngram.solver=sgd --set model.ngram.char_ngram_min=2 --set train.seed=2",
                            "--set model.ngram.solver=sgd --set model.ngram.word_ngram_max=1 --set train.epochs=2"}) {
    auto r = run_nlpc(baseline_args(d, extra));
    REQUIRE(r.exit_code == 0);
    ids.push_back(run_id_of(r.out));
  }
  auto e = run_nlpc("--threads 1 eval --runs-dir '" + d.file("runs") + "' --experiment e2e --model " +
                    d.file("runs/e2e/" + ids[0] + "/artifacts/model") + " --data " + fixture("data/test.csv") +
                    " --label-column section --bootstrap 100");
  REQUIRE(e.exit_code == 0);
  auto r = run_nlpc("runs report --runs-dir '" + d.file("runs") + "' --experiment e2e -o " + d.file("report.html"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string html = read_file(d.file("report.html"));
  auto svgs = nlpc::test::extract_svgs(html);
  REQUIRE(!svgs.empty());
  for (const auto& s : svgs) CHECK(nlpc::test::check_xml(s) == "");
  // Curves: valid/accuracy per epoch, one series per training run (the eval run has none).
  size_t curve = 0;
  for (size_t i = 0; i < svgs.size(); ++i)
    if (svgs[i].find("<title>valid/accuracy</title>") != std::string::npos) curve = i;
  CHECK(nlpc::test::count(svgs[curve], "class=\"series\"") == 3);
  size_t cells = 0, cis = 0;
  for (const auto& s : svgs) cells += nlpc::test::count(s, "class=\"cell\""), cis += nlpc::test::count(s, "class=\"ci\"");
  CHECK(cells == 4 * 2 * 36);  // 4 runs x (counts + normalised) x 6 x 6
  CHECK(cis == 1);             // only the eval run has bootstrap intervals
  CHECK(html.find("model.ngram.char_ngram_min") != std::string::npos);  // a param that differs
}

TEST_CASE("train: the n-gram matrix is in unlinked scratch files, so a killed run leaves none behind",
          "[e2e][train]") {
  TempDir d;
  // 60,000 rows of 20 topics: a few seconds of training on one thread.
  std::string csv = "section,text\n";
  uint64_t s = 12345;
  auto rnd = [&](uint64_t m) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (s >> 33) % m;
  };
  for (int i = 0; i < 60000; ++i) {
    const uint64_t y = rnd(20);
    csv += "topic" + std::to_string(y) + ",";
    for (int j = 0; j < 30; ++j) csv += "w" + std::to_string(rnd(3) == 0 ? y * 50 + rnd(50) : 1000 + rnd(3000)) + " ";
    csv += "\n";
  }
  nlpc::test::write_file(d.file("big.csv"), csv);
  const std::string args = "--threads 1 train --runs-dir '" + d.file("runs") + "' --experiment k --set data.train=" +
                           d.file("big.csv") + " --set data.label_column=section --set model.type=ngram" +
                           " --set model.ngram.svm_tol=0.001";
  auto no_scratch_left = [&] {
    for (const auto& e : fs::recursive_directory_iterator(d.file("runs"))) {
      if (e.path().filename().string().rfind(".nlpc-", 0) == 0) return false;
    }
    return true;
  };
  const std::string cmd = "exec '" + nlpc::test::nlpc_bin() + "' " + args + " > '" + d.file("out") + "' 2> '" +
                          d.file("err") + "'";
  const int pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Killed while the solver reads the matrix back.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((!fs::exists(d.file("err")) || read_file(d.file("err")).find("n-gram matrix:") == std::string::npos) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  INFO(read_file(d.file("err")));
  CHECK(WIFSIGNALED(status));  // still training when killed
  CHECK(no_scratch_left());
  // A new run builds its own matrix and trains.
  auto again = run_nlpc(args);
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.err, Catch::Contains("in a scratch file in " + d.file("runs/k/")));
  CHECK(no_scratch_left());
  // A scratch folder that cannot be written is a clear error naming it.
  auto bad = run_nlpc(args + " --set model.ngram.scratch_dir=" + d.file("missing"));
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::Contains("cannot create the n-gram training matrix in " + d.file("missing")));
}
