// End-to-end: a BERT-tiny training run killed with SIGTERM is recorded as KILLED with everything
// logged before the signal, and `--resume` finishes it with the same metrics as an uninterrupted run.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../test_util.h"

using nlohmann::json;
using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
namespace fs = std::filesystem;

namespace {
std::string tiny_bert_args(const TempDir& d, const std::string& extra = "") {
  const std::string src = NLPC_SOURCE_DIR;
  return "--threads 1 train --runs-dir '" + d.file("runs") + "' --set data.train=" + fixture("data/train.csv") +
         " --set data.valid=" + fixture("data/valid.csv") + " --set data.test=" + fixture("data/test.csv") +
         " --set data.label_column=section --set model.type=bert --set model.config=" + src +
         "/configs/models/bert-tiny.json --set model.tokenizer=" + src +
         "/configs/tokenizers/bert-base-uncased --set model.max_length=48 --set train.batch_size=16"
         " --set train.epochs=2 --set train.lr=1e-3 --set train.seed=7 --set train.eval_every=10" + extra;
}

std::vector<json> metric_lines(const std::string& run_dir) {
  std::vector<json> out;
  std::istringstream is(read_file(run_dir + "/metrics.jsonl"));
  std::string line;
  while (std::getline(is, line)) out.push_back(json::parse(line));
  return out;
}

double final_metric(const std::string& run_dir, const std::string& key) {
  double v = -1;
  for (const auto& m : metric_lines(run_dir))
    if (m["key"] == key) v = m["value"].get<double>();
  return v;
}

std::string only_run_dir(const std::string& runs) {
  std::vector<std::string> dirs;
  for (const auto& e : fs::directory_iterator(runs + "/default")) dirs.push_back(e.path().string());
  REQUIRE(dirs.size() == 1);
  return dirs[0];
}
}  // namespace

namespace {
void check_sigterm_then_resume(const std::string& extra) {
  TempDir full, killed;
  // 1. Uninterrupted reference.
  auto r = run_nlpc(tiny_bert_args(full, extra));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string ref = only_run_dir(full.file("runs"));
  const double ref_acc = final_metric(ref, "test/accuracy");
  const double ref_loss = final_metric(ref, "test/log_loss");
  REQUIRE(ref_acc >= 0);

  // 2. The same run, killed with SIGTERM after a few logged steps.
  const auto bg = nlpc::test::start_nlpc_until_logged(tiny_bert_args(killed, extra), killed.file("out"), killed.file("err"),
                                                      killed.file("runs/default"), 6, 600);  // a loaded machine
  const std::string& dir = bg.run_dir;
  REQUIRE(bg.losses >= 6);
  const std::string before = read_file(dir + "/metrics.jsonl");
  const int code = nlpc::test::terminate_and_wait(bg.pid);
  REQUIRE(code >= 0);
  CHECK(code == 143);
  CHECK_THAT(read_file(killed.file("err")),  // the command that continues it
             Catch::Contains("continue the run with: nlpc train --resume " + fs::path(dir).filename().string()));
  auto info = json::parse(read_file(dir + "/run.json"));
  CHECK(info["status"] == "KILLED");
  CHECK(info.contains("end_time"));
  const std::string after = read_file(dir + "/metrics.jsonl");
  CHECK(after.compare(0, before.size(), before) == 0);  // everything logged before the signal is kept
  CHECK(final_metric(dir, "test/accuracy") < 0);        // it did not finish

  // 3. Resume: same final metrics as the uninterrupted run.
  auto res = run_nlpc("--threads 1 train --runs-dir '" + killed.file("runs") + "' --resume " +
                      fs::path(dir).filename().string().substr(0, 10));
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  CHECK(json::parse(read_file(dir + "/run.json"))["status"] == "FINISHED");
  CHECK(final_metric(dir, "test/accuracy") == Approx(ref_acc).margin(1e-9));
  CHECK(final_metric(dir, "test/log_loss") == Approx(ref_loss).epsilon(1e-6));
}
}  // namespace

TEST_CASE("train: SIGTERM marks the run KILLED and --resume ends like an uninterrupted run", "[e2e][train][resume]") {
  check_sigterm_then_resume("");
}

TEST_CASE("train: a streamed training file killed mid-stream resumes at the same example", "[e2e][train][resume][stream]") {
  // 300 rows, batches of 16 in windows of 2, 40 held for shuffling: the kill lands inside an epoch
  // with a full buffer; the resumed run must train on the same batches to end with the same metrics.
  check_sigterm_then_resume(" --set data.shuffle_buffer=40 --set train.bucket_window=2");
}

TEST_CASE("train: multi-label BERT streamed and in memory with tags the training split lacks", "[e2e][train][stream]") {
  // The fixture's valid and test files carry tags that its 128 tagged training rows lack: they are
  // left out with a warning (as MultiLabelBinarizer does); the best model is chosen by f1_micro (the
  // multi-label default) and the metrics are logged under MLflow-valid names (precision_at_1).
  const std::string src = NLPC_SOURCE_DIR;
  for (const std::string buffer : {"0", "50"}) {
    INFO("data.shuffle_buffer=" << buffer);
    TempDir d;
    auto r = run_nlpc("--threads 1 train --runs-dir '" + d.file("runs") + "' --config " + src +
                      "/configs/multilabel-tags.json --set data.train=" + fixture("data/train.csv") +
                      " --set data.valid=" + fixture("data/valid.csv") + " --set data.test=" + fixture("data/test.csv") +
                      " --set model.type=bert --set model.config=" + src + "/configs/models/bert-tiny.json" +
                      " --set model.tokenizer=" + src + "/configs/tokenizers/bert-base-uncased" +
                      " --set model.max_length=32 --set train.batch_size=16 --set train.epochs=2 --set train.lr=1e-3" +
                      " --set train.class_weights=balanced --set data.shuffle_buffer=" + buffer);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("do not occur in the training data and are left out"));
    const std::string dir = only_run_dir(d.file("runs"));
    CHECK(final_metric(dir, "test/precision_at_1") >= 0);
    CHECK(final_metric(dir, "valid/f1_micro") >= 0);
    CHECK(json::parse(read_file(dir + "/params.json"))["train.metric"] == "f1_micro");
  }
}

TEST_CASE("train: streamed-training settings and oversized evaluation files are clear errors", "[e2e][train][stream]") {
  TempDir d;
  const std::string src = NLPC_SOURCE_DIR;
  // A negative buffer, and a validation file beyond data.max_eval_rows: exit 2 naming the key or
  // the file, the run FAILED, the input files untouched.
  const std::string valid_before = read_file(fixture("data/valid.csv"));
  auto neg = run_nlpc(tiny_bert_args(d, " --set data.shuffle_buffer=-1"));
  CHECK(neg.exit_code == 2);
  CHECK_THAT(neg.err, Catch::Contains("data.shuffle_buffer must be >= 0"));
  auto big = run_nlpc(tiny_bert_args(d, " --set data.shuffle_buffer=40 --set data.max_eval_rows=10"));
  CHECK(big.exit_code == 2);
  CHECK_THAT(big.err, Catch::Contains("valid.csv") && Catch::Contains("more than data.max_eval_rows = 10 rows"));
  CHECK(read_file(fixture("data/valid.csv")) == valid_before);
  for (const auto& e : fs::directory_iterator(d.file("runs/default"))) {
    CHECK(json::parse(read_file(e.path().string() + "/run.json"))["status"] == "FAILED");
  }
  // Tasks that read their training file into memory say so instead of ignoring the setting.
  auto t5 = run_nlpc("train --runs-dir '" + d.file("runs") + "' --config " + src +
                     "/configs/summarize-en.json --set data.shuffle_buffer=100");
  CHECK(t5.exit_code == 2);
  CHECK_THAT(t5.err, Catch::Contains("task summarize reads its training file into memory"));
  auto window = run_nlpc(tiny_bert_args(d, " --set train.bucket_window=0"));
  CHECK(window.exit_code == 2);
  CHECK_THAT(window.err, Catch::Contains("train.bucket_window"));
}
