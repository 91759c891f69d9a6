// Benchmark of the run store: metric logging (one flushed line per metric) against a bare
// fwrite+fflush of the same lines, then listing and MLflow export of the runs.
//   build/bench_runs_store [runs=50] [metrics_per_run=2000]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "nlpc/core/system.h"
#include "nlpc/runs/mlflow_export.h"
#include "nlpc/runs/run.h"
#include "nlpc/runs/store.h"

namespace fs = std::filesystem;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 50;
  const int per_run = argc > 2 ? std::atoi(argv[2]) : 2000;
  spdlog::set_level(spdlog::level::warn);
  const fs::path root = fs::temp_directory_path() / ("nlpc-bench-runs-" + std::to_string(::getpid()));
  fs::create_directories(root);

  // Reference: the same JSON lines written with fwrite + fflush, no run bookkeeping.
  auto t0 = std::chrono::steady_clock::now();
  {
    std::FILE* f = std::fopen((root / "reference.jsonl").c_str(), "ab");
    for (int i = 0; i < runs * per_run; ++i) {
      std::string line = "{\"key\":\"train/loss\",\"value\":" + nlohmann::json(1.0 / (i + 1)).dump() +
                         ",\"step\":" + std::to_string(i) + ",\"timestamp\":" + std::to_string(nlpc::now_ms()) + "}\n";
      std::fwrite(line.data(), 1, line.size(), f);
      std::fflush(f);
    }
    std::fclose(f);
  }
  const double ref_s = seconds_since(t0);

  nlpc::runs::RunOptions o;
  o.runs_dir = (root / "runs").string();
  o.experiment = "bench";
  double log_s = 0.0;
  t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < runs; ++r) {
    nlpc::runs::Run run = nlpc::runs::Run::start(o);
    nlpc::runs::record(run, [&] {
      nlohmann::json cfg;
      for (int p = 0; p < 20; ++p) cfg["group" + std::to_string(p % 4)]["param" + std::to_string(p)] = p * 0.5;
      run.log_params(cfg);
      auto t1 = std::chrono::steady_clock::now();
      for (int i = 0; i < per_run; ++i) run.log_metric(i % 2 ? "train/loss" : "eval/accuracy", 1.0 / (i + 1), i / 2);
      log_s += seconds_since(t1);
    });
  }
  const double bookkeeping_s = seconds_since(t0) - log_s;

  t0 = std::chrono::steady_clock::now();
  const auto listed = nlpc::runs::list_runs(o.runs_dir);
  const double list_s = seconds_since(t0);

  nlpc::runs::ExportMlflowOptions e;
  e.runs_dir = o.runs_dir;
  e.to = (root / "mlruns").string();
  t0 = std::chrono::steady_clock::now();
  nlpc::runs::export_mlflow(e);
  const double export_s = seconds_since(t0);

  const double n = static_cast<double>(runs) * per_run;
  std::printf("runs: %d, metrics per run: %d, params per run: 20\n", runs, per_run);
  std::printf("reference fwrite+fflush: %.0f lines/s\n", n / ref_s);
  std::printf("Run::log_metric:         %.0f metrics/s (%.2fx the reference time)\n", n / log_s, log_s / ref_s);
  std::printf("run start + params + end: %.1f ms per run (atomic JSON writes, fsync)\n", 1000.0 * bookkeeping_s / runs);
  std::printf("list_runs (%zu runs):     %.3f s (%.0f metric lines/s parsed)\n", listed.size(), list_s, n / list_s);
  std::printf("export_mlflow:           %.3f s (%.1f ms per run)\n", export_s, 1000.0 * export_s / runs);
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
