// The table of entry points that the nlpc executable loads from libnlpc_torch.so (see
// include/nlpc/commands/module_api.h).
#include "nlpc/commands/module_api.h"

#include "nlpc/commands/eval.h"
#include "nlpc/commands/models.h"
#include "nlpc/commands/predict.h"
#include "nlpc/commands/runs.h"
#include "nlpc/commands/tokenize.h"
#include "nlpc/commands/train.h"
#include "nlpc/commands/transcribe.h"
#include "nlpc/serve/bench.h"
#include "nlpc/serve/server.h"
#include "nlpc/tasks/registry.h"
#include "nlpc/train/train_config.h"

namespace {
nlpc::commands::ModuleApi make_api() {
  using namespace nlpc;
  commands::ModuleApi a;
  a.run_train = &run_train;
  a.describe_train_config = [] { return train_config_schema().describe(); };
  a.run_eval = &run_eval;
  a.run_predict = &run_predict;
  a.report_predict_stats = &report_predict_stats;
  a.run_transcribe = &run_transcribe;
  a.run_serve = &run_serve;
  a.run_bench = &run_bench;
  a.format_bench_table = &format_bench_table;
  a.run_tokenize = &text::run_tokenize;
  a.run_tokenize_decode = &text::run_tokenize_decode;
  a.run_list = &runs::run_list;
  a.run_show = &runs::run_show;
  a.run_compare = &runs::run_compare;
  a.run_export_mlflow = &runs::run_export_mlflow;
  a.run_delete = &runs::run_delete;
  a.run_models_inspect = &commands::run_models_inspect;
  a.run_models_convert = &commands::run_models_convert;
  a.run_models_quantize = &commands::run_models_quantize;
  a.int8_engine = &commands::int8_engine_description;
  a.task_names = &tasks::task_names;
  return a;
}
}  // namespace

extern "C" __attribute__((visibility("default"))) const nlpc::commands::ModuleApi* nlpc_module_api() {
  static const nlpc::commands::ModuleApi api = make_api();
  return &api;
}
