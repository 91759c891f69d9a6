#pragma once
// `nlpc serve` started in the background on a free loopback port for the e2e tests.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "../test_util.h"
#include "nlpc/serve/http.h"

extern char** environ;

namespace nlpc::test {

// `nlpc serve` in the background on a free port (--port 0; the port is read from its first line).
class ServeProcess {
 public:
  // `serve_args`: everything after `nlpc --threads 1 serve` but --host/--port.
  explicit ServeProcess(const std::vector<std::string>& serve_args) {
    out_ = dir_.file("out.txt");
    std::vector<std::string> args = {nlpc_bin(), "--threads", "1", "serve", "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), serve_args.begin(), serve_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, dir_.file("err.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::smatch m;
    std::string text;
    while (std::chrono::steady_clock::now() < deadline) {
      text = read_file(out_);
      if (std::regex_search(text, m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)/"))) break;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("nlpc serve exited early: " << read_file(dir_.file("err.txt")));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(!m.empty());
    port_ = std::stoi(m[1].str());
    httplib::Client c = client();
    for (int i = 0; i < 200; ++i) {
      auto r = c.Get("/healthz");
      if (r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("no /healthz answer");
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  // What the server printed to stdout (the start message: models and their kinds).
  std::string output() const { return read_file(out_); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20, 0);
    return c;
  }
  // Sends `sig` and waits up to `limit`; returns the exit status (-1 when it did not exit).
  int signal_and_wait(int sig, std::chrono::milliseconds limit) {
    kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  TempDir dir_;
  std::string out_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace nlpc::test
