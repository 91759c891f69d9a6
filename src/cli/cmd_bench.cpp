// `nlpc bench`: flags only; the work is in src/serve/bench.cpp.
#include <cstdio>

#include "commands.h"
#include "module.h"
#include "nlpc/core/fs.h"
#include "nlpc/serve/bench.h"
#include "run_options.h"

namespace nlpc::cli {

void register_bench(CLI::App& app) {
  static BenchOptions o;
  auto* sub = app.add_subcommand("bench", "Latency, throughput, size and memory of a model");
  sub->add_option("-m,--model", o.model, "Model folder")->required();
  sub->add_option("--data", o.data, "CSV/TSV/JSONL/text file of texts (default: built-in sample texts)");
  sub->add_option("--text-column", o.text_column,
                  "Text column(s) of --data, comma-separated ones joined; default: the model's, else text");
  sub->add_option("--pair-column", o.pair_column, "Second text column of --data; default: the model's");
  static bool no_record = false;
  sub->add_flag("--no-record", no_record, "Do not record the measurement as a run");
  sub->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--precision", o.precision,
                 "auto (as the model folder stores it), fp32, or int8: dynamic quantization of the "
                 "Transformer layers on the CPU (docs/int8.md)")
      ->check(CLI::IsMember({"auto", "fp32", "int8"}))
      ->capture_default_str();
  sub->add_option("--texts", o.texts, "Single-text calls for the latency percentiles")->capture_default_str();
  sub->add_option("--batch-sizes", o.batch_sizes, "Batch sizes for the throughput")->delimiter(',')
      ->capture_default_str();
  sub->add_option("--min-seconds", o.min_seconds, "Minimum measuring time per batch size")->capture_default_str();
  sub->add_option("--json", o.json, "Also write the result as JSON to this file (- = stdout, no table)");
  add_run_options(sub, o.run);
  on_run(sub, [sub] {
    o.record_run = !no_record;  // recorded like train and eval: --runs-dir, else $NLPC_RUNS_DIR, else ./runs
    o.columns_given = sub->count("--text-column") > 0 || sub->count("--pair-column") > 0;
    nlohmann::json r = torch_module().run_bench(o);
    if (o.json == "-") {
      std::printf("%s\n", r.dump(2).c_str());
      return 0;
    }
    std::printf("%s", torch_module().format_bench_table(r).c_str());
    if (r.contains("run_id")) std::printf("recorded in run %s\n", r["run_id"].get<std::string>().c_str());
    if (!o.json.empty()) write_file_atomic(o.json, r.dump(2) + "\n");
    return 0;
  });
}

}  // namespace nlpc::cli
