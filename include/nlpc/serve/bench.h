#pragma once
// `nlpc bench`: the numbers for choosing a machine for a model.
//
//   latency_p50_ms / p95 / p99   one text per call, over `texts` texts (after a short warm-up)
//   throughput                   {"1": texts/s, "8": ..., "32": ..., "128": ...} at each batch size
//   parameters, size_mb          model parameters and the model folder's size on disk
//   rss_after_load_mb            resident memory right after loading the model
//   peak_rss_mb                  peak resident memory of the process (after all inference)
//
// Printed as a table on stdout; written as JSON with --json FILE; recorded as
// artifacts/bench.json (plus metrics bench/...) in a run (like train and eval; --no-record: none).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/runs/run.h"

namespace nlpc {

struct BenchOptions {
  std::string model;
  std::string data;                   // CSV/TSV/JSONL/text file of texts; empty = built-in sample texts
  std::string text_column = "text";   // comma-separated ones are joined, as in training
  std::string pair_column;            // second texts (sentence pairs)
  bool columns_given = false;         // --text-column/--pair-column given; else the model folder's record
  std::string device = "cpu";
  std::string precision = "auto";  // auto (as stored) | fp32 | int8 (nlpc/models/layers/int8.h)
  int texts = 200;                    // texts for the latency measurement
  std::vector<int> batch_sizes = {1, 8, 32, 128};
  double min_seconds = 0.5;           // minimum measuring time per batch size
  int warmup = 5;
  std::string json;                   // write the JSON result here ("-" = stdout instead of the table)
  bool record_run = true;             // record a run (the CLI's --no-record turns it off)
  runs::RunOptions run;
};

// Runs the benchmark and returns the JSON result (see above for the keys).
nlohmann::json run_bench(const BenchOptions& opts);

// Human-readable table of a result.
std::string format_bench_table(const nlohmann::json& result);

// Sum of the sizes of the regular files under `dir` (following no symlinks).
int64_t directory_size_bytes(const std::string& dir);

}  // namespace nlpc
