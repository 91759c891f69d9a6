#include "nlpc/tasks/classification/classifier.h"

#include <filesystem>

#include "nlpc/core/config.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/system.h"
#include "nlpc/models/ngram/linear.h"
#include "nlpc/models/registry.h"

namespace nlpc {
namespace {

class NgramClassifier : public TextClassifier {
 public:
  explicit NgramClassifier(models::NgramModel m) : model_(std::move(m)) {}
  const std::vector<std::string>& labels() const override { return model_.labels(); }
  bool multilabel() const override { return model_.problem() == models::NgramProblem::kMultiLabel; }
  eval::Matrix predict_proba(const std::vector<std::string>& texts, const std::vector<std::string>* pairs) override {
    if (pairs == nullptr) return model_.predict_proba(texts, num_threads());
    std::vector<std::string> joined(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) joined[i] = texts[i] + " \n " + (*pairs)[i];
    return model_.predict_proba(joined, num_threads());
  }
  std::vector<float> thresholds() const override { return model_.thresholds(); }
  std::string architecture() const override { return "nlpc-ngram"; }
  int64_t num_parameters() const override {
    return model_.num_features() * (model_.num_classes() + 1) + model_.num_classes();
  }
  size_t default_batch_size() const override { return 1024; }

 private:
  models::NgramModel model_;
};

}  // namespace

void TextClassifier::save_weights(const std::string& file) const {
  throw UsageError("cannot write " + file + ": the " + architecture() +
                   " model has no tensors to quantize (int8 applies to the Transformer models)");
}

std::unique_ptr<TextClassifier> load_torch_classifier(const std::string& dir, const nlohmann::json& config,
                                                      const std::string& device, const std::string& precision);

std::unique_ptr<TextClassifier> load_text_classifier(const std::string& dir, const std::string& device,
                                                     const std::string& precision) {
  const nlohmann::json config = models::read_model_config(dir);
  const std::string type = config.value("model_type", "");
  if (!type.empty()) {
    const models::Architecture& family = models::find_model_family(type, dir + "/config.json");
    if (family.task != "classification") {
      throw InputError(dir, 0, 0, "holds a " + type + " model (task " + family.task + "), not a classifier: use --task " +
                                      family.task);
    }
  }
  if (type == "nlpc-ngram") {
    if (precision == "int8") spdlog::info("{}: the n-gram model has no int8 path; --precision int8 ignored", dir);
    return std::make_unique<NgramClassifier>(models::NgramModel::load(dir));
  }
  return load_torch_classifier(dir, config, device, precision);
}

}  // namespace nlpc
