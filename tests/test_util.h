#pragma once
// Helpers shared by tests: temporary folders, running the nlpc binary, reading files.
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

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

std::string read_file(const std::string& path);
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

}  // namespace nlpc::test
