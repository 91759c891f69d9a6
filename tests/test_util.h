#pragma once
// Helpers shared by tests: temporary folders, running the nlpc binary, reading files.
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nlpc/core/fs.h"

namespace nlpc::test {

// A fresh folder under the build tree's tmp, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `nlpc <args>` (through /bin/sh, args are passed as one shell string), capturing stdout and
// stderr; `stdin_text` is fed to its standard input when not empty.
RunResult run_nlpc(const std::string& args, const std::string& stdin_text = "",
                   const std::string& env = "");

// nlpc::read_file (InputError naming the file when it cannot be read).
using nlpc::read_file;
void write_file(const std::string& path, const std::string& content);
std::string fixture(const std::string& rel);  // path under tests/fixtures
// The n-gram baseline trained once per test process on tests/fixtures/data (label column
// "section"); returns its model folder. Throws std::runtime_error when training fails.
std::string trained_baseline_model();
std::string nlpc_bin();

// The 32-hex run id that `nlpc train|eval` prints as "run <id>"; throws std::runtime_error (with
// the output) when there is none.
std::string run_id_of(const std::string& out);
// A run folder's metrics.jsonl as {key: last logged value}.
nlohmann::json metrics_final(const std::string& run_dir);

// `nlpc <args>` running in the background (stdout and stderr into files), the folder of the run it
// records under `experiment_dir`, and how many train/loss points it had logged.
struct BackgroundRun {
  int pid = -1;
  std::string run_dir;
  int losses = 0;
};
// Starts it and returns once its run has logged `min_losses` train/loss points (polled every 10 ms),
// or after `timeout_s` seconds.
BackgroundRun start_nlpc_until_logged(const std::string& args, const std::string& out_file,
                                      const std::string& err_file, const std::string& experiment_dir,
                                      int min_losses, double timeout_s);
// Sends SIGTERM to `pid` and waits for it: its exit code, or -1 when it did not exit normally.
int terminate_and_wait(int pid);

}  // namespace nlpc::test
