#pragma once
// `nlpc models inspect DIR`, `convert DIR --to OUT` and `quantize DIR --to OUT`: typed options and the entry
// points src/cli/cmd_models.cpp calls; the work is in nlpc/models/inspect.h.
#include <string>

namespace nlpc::commands {

struct ModelsInspectOptions {
  std::string dir;
  std::string format = "text";  // text | json
  bool all_tensors = false;     // list every tensor (text format lists the first 40 otherwise)
};
int run_models_inspect(const ModelsInspectOptions& o);

struct ModelsConvertOptions {
  std::string dir;
  std::string to;
};
int run_models_convert(const ModelsConvertOptions& o);

// `nlpc models quantize DIR --to OUT` (nlpc/tasks/quantize.h).
struct ModelsQuantizeOptions {
  std::string dir;
  std::string to;
};
int run_models_quantize(const ModelsQuantizeOptions& o);

// The int8 engine, for --version (nlpc/models/layers/int8.h describe_engine).
std::string int8_engine_description();

}  // namespace nlpc::commands
