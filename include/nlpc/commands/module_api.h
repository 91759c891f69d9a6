#pragma once
// The entry points of the libtorch half of nlpc, as one table of function pointers.
//
// `nlpc` is two files: the executable (command-line parsing, help, usage errors and the torch-free
// areas core/io/text/runs/eval/data) and libnlpc_torch.so beside it (models, training, tasks,
// serving, commands: everything that needs libtorch). The executable loads the library only once
// the command line has parsed, so `nlpc --help`, `nlpc train --help` and usage errors answer
// without loading libtorch's ~290 shared libraries (0.7-1 s on a 2-core machine). The library
// resolves the torch-free areas from the executable (which exports them), so there is one copy of
// each global (logger, signal state, run registry).
//
// Torch-free: only option structs and std types. Test and benchmark programs link everything
// statically (nlpc_core) and call the functions directly; only src/cli goes through this table.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/tasks/options.h"

namespace nlpc {

struct TrainCommandOptions;
struct TranscribeOptions;
struct ServeOptions;
struct BenchOptions;
namespace text {
struct TokenizeOptions;
struct DecodeOptions;
}  // namespace text
namespace runs {
struct ListOptions;
struct ShowOptions;
struct CompareOptions;
struct ExportMlflowOptions;
struct DeleteOptions;
}  // namespace runs
namespace commands {
struct ModelsInspectOptions;
struct ModelsConvertOptions;
struct ModelsQuantizeOptions;

// Bumped whenever a member is added, removed or changes type: an executable and a library from
// different builds refuse to work together (a clear error instead of a crash).
constexpr int kModuleApiVersion = 3;

struct ModuleApi {
  int version = kModuleApiVersion;
  int size = static_cast<int>(sizeof(ModuleApi));
  int (*run_train)(const TrainCommandOptions&) = nullptr;
  std::string (*describe_train_config)() = nullptr;  // `nlpc train --list-keys`
  int (*run_eval)(const EvalCommandOptions&) = nullptr;
  PredictStats (*run_predict)(const PredictOptions&) = nullptr;
  void (*report_predict_stats)(const PredictStats&) = nullptr;
  int (*run_transcribe)(const TranscribeOptions&) = nullptr;
  int (*run_serve)(const ServeOptions&) = nullptr;
  nlohmann::json (*run_bench)(const BenchOptions&) = nullptr;
  std::string (*format_bench_table)(const nlohmann::json&) = nullptr;
  int (*run_tokenize)(const text::TokenizeOptions&) = nullptr;
  int (*run_tokenize_decode)(const text::DecodeOptions&) = nullptr;
  int (*run_list)(const runs::ListOptions&) = nullptr;
  int (*run_show)(const runs::ShowOptions&) = nullptr;
  int (*run_compare)(const runs::CompareOptions&) = nullptr;
  int (*run_export_mlflow)(const runs::ExportMlflowOptions&) = nullptr;
  int (*run_delete)(const runs::DeleteOptions&) = nullptr;
  int (*run_models_inspect)(const ModelsInspectOptions&) = nullptr;
  int (*run_models_convert)(const ModelsConvertOptions&) = nullptr;
  int (*run_models_quantize)(const ModelsQuantizeOptions&) = nullptr;
  std::string (*int8_engine)() = nullptr;
  std::vector<std::string> (*task_names)(bool with_predict) = nullptr;
};

// The library's exported symbol (extern "C", so that its name does not depend on the mangling).
constexpr const char* kModuleApiSymbol = "nlpc_module_api";

// The task names the command line accepts, known without loading the library (`--task` is checked
// while parsing). tasks::task_names() is the source of truth; a unit test checks that they agree.
inline std::vector<std::string> cli_task_names(bool with_predict) {
  if (with_predict) return {"classification", "summarize"};
  return {"classification", "summarize", "asr"};
}

}  // namespace commands
}  // namespace nlpc
