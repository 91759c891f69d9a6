#include "test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace nlpc::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  path_ = fs::temp_directory_path() /
          ("nlpc-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
           std::to_string(rd() % 100000));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("NLPC_KEEP_TEST_DIRS") == nullptr) fs::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::string fixture(const std::string& rel) { return std::string(NLPC_FIXTURES_DIR) + "/" + rel; }
std::string nlpc_bin() { return NLPC_BIN; }

std::string run_id_of(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("run ([0-9a-f]{32})"))) {
    throw std::runtime_error("no \"run <id>\" in the output: " + out);
  }
  return m[1].str();
}

nlohmann::json metrics_final(const std::string& run_dir) {
  nlohmann::json out = nlohmann::json::object();
  std::istringstream is(read_file(run_dir + "/metrics.jsonl"));
  std::string line;
  while (std::getline(is, line)) {
    auto j = nlohmann::json::parse(line);
    out[j["key"].get<std::string>()] = j["value"];
  }
  return out;
}

BackgroundRun start_nlpc_until_logged(const std::string& args, const std::string& out_file,
                                      const std::string& err_file, const std::string& experiment_dir,
                                      int min_losses, double timeout_s) {
  const std::string cmd = "exec '" + nlpc_bin() + "' " + args + " > '" + out_file + "' 2> '" + err_file + "'";
  BackgroundRun r;
  r.pid = fork();
  if (r.pid < 0) throw std::runtime_error("fork failed");
  if (r.pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (r.losses < min_losses && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (r.run_dir.empty() && fs::exists(experiment_dir)) {
      for (const auto& e : fs::directory_iterator(experiment_dir)) r.run_dir = e.path().string();
    }
    if (!r.run_dir.empty() && fs::exists(r.run_dir + "/metrics.jsonl")) {
      std::istringstream is(read_file(r.run_dir + "/metrics.jsonl"));
      std::string line;
      r.losses = 0;
      while (std::getline(is, line)) r.losses += line.find("\"train/loss\"") != std::string::npos;
    }
  }
  return r;
}

int terminate_and_wait(int pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string trained_baseline_model() {
  static TempDir dir;
  static std::string model;
  if (model.empty()) {
    RunResult r = run_nlpc("--threads 1 train --runs-dir '" + dir.file("runs") + "' --set data.train=" +
                           fixture("data/train.csv") + " --set data.label_column=section --set train.epochs=5");
    if (r.exit_code != 0) {
      throw std::runtime_error("training the test baseline failed (exit " + std::to_string(r.exit_code) + "): " + r.err);
    }
    model = dir.file("runs/default/" + run_id_of(r.out) + "/artifacts/model");
  }
  return model;
}

RunResult run_nlpc(const std::string& args, const std::string& stdin_text, const std::string& env) {
  TempDir tmp;
  const std::string in = tmp.file("stdin"), out = tmp.file("stdout"), err = tmp.file("stderr");
  write_file(in, stdin_text);
  std::string cmd = env + (env.empty() ? "" : " ") + "'" + nlpc_bin() + "' " + args + " < '" + in +
                    "' > '" + out + "' 2> '" + err + "'";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace nlpc::test
