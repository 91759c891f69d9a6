// `nlpc models inspect | convert` (see include/nlpc/commands/models.h).
#include "nlpc/commands/models.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "nlpc/models/inspect.h"
#include "nlpc/models/layers/int8.h"
#include "nlpc/tasks/quantize.h"

namespace nlpc::commands {
namespace {

using nlohmann::json;

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

json report_json(const models::FolderReport& r) {
  json tensors = json::array();
  for (const auto& t : r.tensors) tensors.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}});
  json dtypes = json::object();
  for (const auto& [d, n] : r.dtypes) dtypes[d] = n;
  return {{"dir", r.dir}, {"model_type", r.model_type}, {"model_type_inferred", r.model_type_source},
          {"architectures", r.architectures}, {"task", r.task}, {"weights_file", r.weights_file},
          {"weights_format", r.weights_format}, {"quantization", r.quantization}, {"int8_layers", r.int8_layers}, {"parameters", r.parameters}, {"dtypes", dtypes},
          {"tokenizer", r.tokenizer}, {"vocab_size", r.vocab_size}, {"tensors", tensors},
          {"load", {{"loaded", r.loaded}, {"renamed_gamma_beta", r.keys.renamed}, {"dropped_buffers", r.keys.dropped},
                    {"prefix", r.keys.prefix_change}, {"tied_aliases", r.tied}, {"ignored", r.ignored},
                    {"initialised", r.initialised}, {"missing", r.missing}, {"unexpected", r.unexpected}}}};
}

void print_list(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::printf("  %s (%zu): %s\n", title, items.size(), models::key_list(items, 12).c_str());
}

void print_report(const models::FolderReport& r, bool all) {
  std::printf("folder:       %s\n", r.dir.c_str());
  std::printf("model_type:   %s%s\n", r.model_type.c_str(),
              r.model_type_source.empty() ? "" : (" (inferred " + r.model_type_source + ")").c_str());
  std::string arch;
  for (const auto& a : r.architectures) arch += (arch.empty() ? "" : ", ") + a;
  std::printf("architecture: %s\n", arch.empty() ? "-" : arch.c_str());
  std::printf("task:         %s\n", r.task.c_str());
  if (r.weights_file.empty()) return;
  std::printf("weights:      %s (%s)\n", r.weights_file.c_str(), r.weights_format.c_str());
  if (!r.quantization.empty() || r.int8_layers > 0) {
    std::printf("precision:    int8 Linear layers: %lld (scheme %s)\n", static_cast<long long>(r.int8_layers),
                r.quantization.empty() ? "MISSING from the metadata: loading fails" : r.quantization.c_str());
  }
  std::string dt;
  for (const auto& [d, n] : r.dtypes) dt += (dt.empty() ? "" : ", ") + d + " x" + std::to_string(n);
  std::printf("parameters:   %s (model tensors; heads and tied aliases not counted); %zu tensors stored (%s)\n",
              with_commas(r.parameters).c_str(), r.tensors.size(), dt.c_str());
  std::printf("tokenizer:    %s%s\n", r.tokenizer.c_str(),
              r.vocab_size ? (", " + with_commas(r.vocab_size) + " tokens").c_str() : "");
  std::printf("loading:      %lld tensors fill the model\n", static_cast<long long>(r.loaded));
  if (r.keys.renamed) std::printf("  renamed LayerNorm gamma/beta -> weight/bias: %d\n", r.keys.renamed);
  print_list("dropped buffers (recomputed)", r.keys.dropped);
  if (!r.keys.prefix_change.empty()) std::printf("  base-model prefix: %s\n", r.keys.prefix_change.c_str());
  print_list("tied aliases (checked, skipped)", r.tied);
  print_list("ignored when fine-tuning (other heads)", r.ignored);
  print_list("newly initialised when fine-tuning", r.initialised);
  print_list("MISSING (loading fails)", r.missing);
  print_list("UNEXPECTED (loading fails)", r.unexpected);
  const size_t shown = all ? r.tensors.size() : std::min<size_t>(r.tensors.size(), 40);
  std::printf("tensors:\n");
  for (size_t i = 0; i < shown; ++i) {
    const auto& t = r.tensors[i];
    std::printf("  %-64s %-5s %s\n", t.name.c_str(), t.dtype.c_str(), shape_str(t.shape).c_str());
  }
  if (shown < r.tensors.size()) std::printf("  ... %zu more (--all-tensors)\n", r.tensors.size() - shown);
}

}  // namespace

int run_models_inspect(const ModelsInspectOptions& o) {
  const models::FolderReport r = models::inspect_folder(o.dir);
  if (o.format == "json") {
    std::printf("%s\n", report_json(r).dump(2).c_str());
  } else {
    print_report(r, o.all_tensors);
  }
  return 0;
}

int run_models_convert(const ModelsConvertOptions& o) {
  const models::ConvertResult r = models::convert_folder(o.dir, o.to);
  std::string copied;
  for (const auto& c : r.copied) copied += " " + c;
  std::printf("wrote %s (%zu tensors, %.1f MB) and config.json%s%s\n", r.weights.c_str(), r.tensors,
              static_cast<double>(r.bytes) / 1e6, copied.empty() ? "" : "; copied", copied.c_str());
  return 0;
}

int run_models_quantize(const ModelsQuantizeOptions& o) {
  const tasks::QuantizeResult r = tasks::quantize_folder(o.dir, o.to);
  std::string copied;
  for (const auto& c : r.copied) copied += " " + c;
  std::printf("wrote %s: %lld Linear layers int8 (%s engine), weights %.1f MB -> %.1f MB; config.json%s%s\n",
              r.weights.c_str(), static_cast<long long>(r.int8_layers), r.engine.c_str(),
              static_cast<double>(r.bytes_before) / 1e6, static_cast<double>(r.bytes_after) / 1e6,
              copied.empty() ? "" : "; copied", copied.c_str());
  return 0;
}

std::string int8_engine_description() { return models::int8::describe_engine(); }

}  // namespace nlpc::commands
