// End-to-end: nlpc under the env:// launch contract (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set
// by hand, as torchrun, mpirun or Slurm would): 2 ranks on loopback train as 1 process does, predict
// the same bytes, and fail in bounded time, naming the rank, when one of them dies.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "../test_util.h"

using nlohmann::json;
using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A port per call, away from the ones other tests or a second ctest job may use.
int next_port() {
  static int n = 0;
  return 20000 + static_cast<int>(getpid() % 2000) * 10 + (n++ % 10);
}

struct RankResult {
  int exit_code = -1;
  std::string out, err;
};

std::string rank_env(int rank, int world, int port) {
  return "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) + " LOCAL_RANK=" +
         std::to_string(rank) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
         " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port);
}

// Runs `nlpc <args>` as `world` ranks at once and waits for all of them.
std::vector<RankResult> run_ranks(int world, const std::string& args, const std::string& extra_env = "") {
  const int port = next_port();
  std::vector<RankResult> res(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      auto x = run_nlpc(args, "", extra_env + " " + rank_env(r, world, port));
      res[static_cast<size_t>(r)] = {x.exit_code, x.out, x.err};
    });
  }
  for (auto& t : threads) t.join();
  return res;
}

std::vector<std::pair<int64_t, double>> metric_series(const std::string& run_dir, const std::string& key) {
  std::vector<std::pair<int64_t, double>> out;
  std::istringstream is(read_file(run_dir + "/metrics.jsonl"));
  std::string line;
  while (std::getline(is, line)) {
    auto m = json::parse(line);
    if (m["key"] == key) out.emplace_back(m["step"].get<int64_t>(), m["value"].get<double>());
  }
  return out;
}

std::vector<std::pair<int64_t, double>> losses(const std::string& run_dir) { return metric_series(run_dir, "train/loss"); }

std::string only_run_dir(const std::string& runs) {
  std::vector<std::string> dirs;
  for (const auto& e : fs::directory_iterator(runs + "/default")) dirs.push_back(e.path().string());
  REQUIRE(dirs.size() == 1);
  return dirs[0];
}

// bert-tiny without dropout: a rank's slice of a batch then computes exactly what the whole batch does.
std::string tiny_bert_args(const TempDir& d, const std::string& runs, int64_t epochs) {
  const std::string src = NLPC_SOURCE_DIR;
  auto cfg = json::parse(read_file(src + "/configs/models/bert-tiny.json"));
  cfg["hidden_dropout_prob"] = 0.0;
  cfg["attention_probs_dropout_prob"] = 0.0;
  nlpc::test::write_file(d.file("bert-tiny-nodrop.json"), cfg.dump(2));
  return "--threads 1 train --runs-dir '" + d.file(runs) + "' --set data.train=" + fixture("data/train.csv") +
         " --set data.valid=" + fixture("data/valid.csv") + " --set data.test=" + fixture("data/test.csv") +
         " --set data.label_column=section --set model.type=bert --set model.config=" + d.file("bert-tiny-nodrop.json") +
         " --set model.tokenizer=" + src + "/configs/tokenizers/bert-base-uncased --set model.max_length=32" +
         " --set model.dropout=0 --set train.batch_size=16 --set train.epochs=" + std::to_string(epochs) +
         " --set train.max_steps=12 --set train.lr=1e-3 --set train.seed=7 --set train.eval_every=6"
         " --set train.dist_timeout_s=60";
}

}  // namespace

TEST_CASE("distributed: 2 ranks with global batch B train like 1 process with batch B", "[e2e][dist]") {
  // In memory, and streamed (every rank reads the same stream and takes its slice of each batch).
  const std::string streamed = GENERATE(as<std::string>{}, "", " --set data.shuffle_buffer=40 --set train.bucket_window=2");
  INFO("extra settings:" << streamed);
  TempDir d;
  auto single = run_nlpc(tiny_bert_args(d, "single", 1) + streamed);
  INFO(single.err);
  REQUIRE(single.exit_code == 0);
  auto ranks = run_ranks(2, tiny_bert_args(d, "dist", 1) + streamed);
  INFO(ranks[0].err);
  INFO(ranks[1].err);
  REQUIRE(ranks[0].exit_code == 0);
  REQUIRE(ranks[1].exit_code == 0);
  CHECK(ranks[1].out.empty());  // rank 0 alone reports
  const std::string a = only_run_dir(d.file("single")), b = only_run_dir(d.file("dist"));
  const auto la = losses(a), lb = losses(b);
  REQUIRE(la.size() == 12);
  REQUIRE(lb.size() == la.size());
  for (size_t i = 0; i < la.size(); ++i) {
    CHECK(lb[i].first == la[i].first);
    CHECK(lb[i].second == Approx(la[i].second).margin(1e-4));
  }
  // Validation is sharded over the ranks (each scores its share of the batches): the same metrics.
  CHECK_THAT(ranks[0].err, Catch::Contains("validation sharded over the 2 ranks"));
  // Gradient buckets were reduced while backward ran (the first, 1 MB, bucket at least).
  CHECK_THAT(ranks[0].err, Catch::Contains("reductions started during backward") && !Catch::Contains(", 0 of "));
  for (const std::string key : {"valid/accuracy", "valid/log_loss"}) {
    const auto va = metric_series(a, key), vb = metric_series(b, key);
    REQUIRE(va.size() == 2);
    REQUIRE(vb.size() == va.size());
    for (size_t i = 0; i < va.size(); ++i) CHECK(vb[i].second == Approx(va[i].second).margin(1e-3));
  }
  auto metrics = [](const std::string& dir) { return nlpc::test::metrics_final(dir); };
  CHECK(metrics(b)["test/accuracy"].get<double>() == Approx(metrics(a)["test/accuracy"].get<double>()).margin(0.01));
  auto tags = json::parse(read_file(b + "/tags.json"));
  CHECK(tags["dist.world_size"] == "2");
  // Only rank 0 wrote a run folder, and the other rank's scratch folder is gone.
  CHECK(fs::exists(b + "/artifacts/model/config.json"));
}

TEST_CASE("distributed: the n-gram baseline and sharded predict give the single-process bytes", "[e2e][dist]") {
  TempDir d;
  const std::string train = "--threads 1 train --set data.train=" + fixture("data/train.csv") +
                            " --set data.label_column=section --set train.epochs=5 --runs-dir ";
  auto single = run_nlpc(train + "'" + d.file("single") + "'");
  REQUIRE(single.exit_code == 0);
  auto ranks = run_ranks(2, train + "'" + d.file("dist") + "'");
  INFO(ranks[0].err + ranks[1].err);
  REQUIRE(ranks[0].exit_code == 0);
  REQUIRE(ranks[1].exit_code == 0);
  const std::string m1 = only_run_dir(d.file("single")) + "/artifacts/model";
  const std::string m2 = only_run_dir(d.file("dist")) + "/artifacts/model";

  const std::string predict = "--threads 1 predict --all-probs --window 50 --input " + fixture("data/test.csv");
  auto ref = run_nlpc(predict + " --model '" + m1 + "' --output '" + d.file("ref.csv") + "'");
  REQUIRE(ref.exit_code == 0);
  // the model the 2 ranks trained (one-vs-rest classes split over the ranks) predicts the same bytes
  auto same = run_nlpc(predict + " --model '" + m2 + "' --output '" + d.file("m2.csv") + "'");
  REQUIRE(same.exit_code == 0);
  CHECK(read_file(d.file("m2.csv")) == read_file(d.file("ref.csv")));
  // 2 ranks predicting windows in turn: one output, in input order, byte for byte
  for (const std::string ext : {"csv", "jsonl"}) {
    auto pr = run_ranks(2, predict + " --model '" + m1 + "' --output '" + d.file("sharded." + ext) + "'");
    INFO(pr[0].err + pr[1].err);
    REQUIRE(pr[0].exit_code == 0);
    REQUIRE(pr[1].exit_code == 0);
    auto one = run_nlpc(predict + " --model '" + m1 + "' --output '" + d.file("one." + ext) + "'");
    REQUIRE(one.exit_code == 0);
    CHECK(read_file(d.file("sharded." + ext)) == read_file(d.file("one." + ext)));
  }
  int files = 0;
  for (const auto& e : fs::directory_iterator(d.path())) files += e.path().filename().string().find(".tmp-") != std::string::npos;
  CHECK(files == 0);  // no temporary left by the other rank
}

TEST_CASE("distributed: a missing or dead rank fails the job in bounded time naming it and --resume continues",
          "[e2e][dist]") {
  TempDir d;
  SECTION("a rank that never starts") {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_nlpc(tiny_bert_args(d, "runs", 1) + " --set train.dist_timeout_s=3", "",
                      rank_env(0, 2, next_port()));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("rank 0 could not join the job"));
    CHECK(secs < 60);
    auto info = json::parse(read_file(only_run_dir(d.file("runs")) + "/run.json"));
    CHECK(info["status"] == "FAILED");
  }
  SECTION("a rank killed during training; the job restarted with --resume finishes") {
    const int port = next_port();
    const std::string args = tiny_bert_args(d, "runs", 1) + " --set train.max_steps=20 --set train.eval_every=2";
    // rank 1 in the background, killed (SIGKILL) once rank 0 has logged a few steps
    // (its scratch run folder, which SIGKILL leaves behind, goes to the test's own folder)
    fs::create_directories(d.file("tmp"));
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string cmd = "TMPDIR='" + d.file("tmp") + "' " + rank_env(1, 2, port) + " exec '" + nlpc::test::nlpc_bin() + "' " + args +
                              " > '" + d.file("r1.out") + "' 2> '" + d.file("r1.err") + "'";
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    std::thread killer([&] {
      for (int i = 0; i < 6000; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!fs::exists(d.file("runs/default"))) continue;
        bool enough = false;
        for (const auto& e : fs::directory_iterator(d.file("runs/default"))) {
          try {
            enough = losses(e.path().string()).size() >= 5;
          } catch (const std::exception&) {  // metrics.jsonl not created yet, or a line half written
          }
        }
        if (enough) break;
      }
      kill(pid, SIGKILL);
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto r0 = run_nlpc(args, "", rank_env(0, 2, port));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    killer.join();
    int status = 0;
    waitpid(pid, &status, 0);
    INFO(r0.err);
    CHECK(r0.exit_code == 1);
    CHECK_THAT(r0.err, Catch::Contains("rank(s) 1 ("));
    CHECK(secs < 600);
    const std::string dir = only_run_dir(d.file("runs"));
    CHECK(json::parse(read_file(dir + "/run.json"))["status"] == "FAILED");
    // the job started again continues from the last checkpoint and finishes
    auto again = run_ranks(2, "--threads 1 train --runs-dir '" + d.file("runs") + "' --resume " +
                                  fs::path(dir).filename().string());
    INFO(again[0].err + again[1].err);
    CHECK(again[0].exit_code == 0);
    CHECK(again[1].exit_code == 0);
    CHECK(json::parse(read_file(dir + "/run.json"))["status"] == "FINISHED");
  }
}

TEST_CASE("distributed: under mpirun, Open MPI's rank variables make the same sharded predict", "[e2e][dist][mpi]") {
  if (std::system("mpirun --version > /dev/null 2>&1") != 0) {
    WARN("mpirun (Debian's openmpi-bin) is not installed: skipped");
    return;
  }
  TempDir d;
  auto tr = run_nlpc("--threads 1 train --set data.train=" + fixture("data/train.csv") +
                     " --set data.label_column=section --set train.epochs=5 --runs-dir '" + d.file("runs") + "'");
  REQUIRE(tr.exit_code == 0);
  const std::string model = only_run_dir(d.file("runs")) + "/artifacts/model";
  const std::string predict = "--threads 1 predict --all-probs --window 20 --input " + fixture("data/test.csv") +
                              " --model '" + model + "' --output ";
  // mpirun sets OMPI_COMM_WORLD_RANK/SIZE and OMPI_COMM_WORLD_LOCAL_RANK/SIZE; the rendezvous is -x'd
  const std::string mpirun = "mpirun --allow-run-as-root --oversubscribe -np 2 -x MASTER_ADDR=127.0.0.1 -x MASTER_PORT=" +
                             std::to_string(next_port()) + " '" + nlpc::test::nlpc_bin() + "' ";
  const int rc = std::system((mpirun + predict + "'" + d.file("mpi.csv") + "' > '" + d.file("mpi.out") + "' 2> '" +
                              d.file("mpi.err") + "'").c_str());
  INFO(read_file(d.file("mpi.err")));
  REQUIRE(rc == 0);
  CHECK_THAT(read_file(d.file("mpi.err")), Catch::Contains("rank 0 of 2") && Catch::Contains("openmpi"));
  auto one = run_nlpc(predict + "'" + d.file("one.csv") + "'");
  REQUIRE(one.exit_code == 0);
  CHECK(read_file(d.file("mpi.csv")) == read_file(d.file("one.csv")));
}
