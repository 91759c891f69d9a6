// `nlpc models <subcommand>`: flags only; the work is in src/commands/models.cpp. Each
// sub-subcommand is one registrar in kModelsSubcommands (a new one: declare it in commands.h,
// define it in its own cmd_models_<name>.cpp, add it to the list).
#include "commands.h"
#include "module.h"
#include "nlpc/commands/models.h"

namespace nlpc::cli {

void register_models_inspect(CLI::App* models) {
  static commands::ModelsInspectOptions o;
  auto* s = models->add_subcommand("inspect", "Architecture, task, parameters, dtypes, tensors, tokenizer, and what "
                                              "loading would rename, ignore or initialise");
  s->add_option("dir", o.dir, "Model folder (config.json + model.safetensors or pytorch_model.bin, single or sharded)")
      ->required();
  s->add_option("--format", o.format, "text or json")->capture_default_str()->check(CLI::IsMember({"text", "json"}));
  s->add_flag("--all-tensors", o.all_tensors, "List every tensor (text format; default: the first 40)");
  on_run(s, [] { return torch_module().run_models_inspect(o); });
}

void register_models_convert(CLI::App* models) {
  static commands::ModelsConvertOptions o;
  auto* s = models->add_subcommand("convert", "Write a model folder back with model.safetensors (loadable by "
                                              "transformers unchanged), e.g. from pytorch_model.bin");
  s->add_option("dir", o.dir, "Model folder to read")->required();
  s->add_option("--to", o.to, "Folder to write (created)")->required();
  on_run(s, [] { return torch_module().run_models_convert(o); });
}

void register_models_quantize(CLI::App* models) {
  static commands::ModelsQuantizeOptions o;
  auto* s = models->add_subcommand("quantize", "Write a model folder whose Transformer layers are stored int8 "
                                               "(loads directly as int8; docs/int8.md)");
  s->add_option("dir", o.dir, "Model folder to read (BERT family, T5 or Whisper)")->required();
  s->add_option("--to", o.to, "Folder to write: new or empty (written under a temporary name, then renamed)")
      ->required();
  on_run(s, [] { return torch_module().run_models_quantize(o); });
}

namespace {
using ModelsRegistrar = void (*)(CLI::App* models);
const ModelsRegistrar kModelsSubcommands[] = {&register_models_inspect, &register_models_convert,
                                              &register_models_quantize};
}  // namespace

void register_models(CLI::App& app) {
  auto* models = app.add_subcommand("models", "Inspect and convert Hugging Face model folders");
  models->require_subcommand(1);
  for (ModelsRegistrar r : kModelsSubcommands) r(models);
}

}  // namespace nlpc::cli
