// TextClassifier over a libtorch SequenceClassifier (BERT, DistilBERT; HF or MLP head) and the
// tokenizer files of its folder.
#include <algorithm>

#include <torch/torch.h>

#include "nlpc/tasks/encoding.h"
#include "nlpc/core/error.h"
#include "nlpc/models/bert/classifier.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/device.h"
#include "nlpc/tasks/classification/classifier.h"
#include "nlpc/text/tokenizer.h"

namespace nlpc {
namespace {

class TorchClassifier : public TextClassifier {
 public:
  TorchClassifier(const std::string& dir, const nlohmann::json& config, const std::string& device,
                  const std::string& precision)
      : device_(resolve_device(device)) {
    model_ = models::load_classifier(dir, device_, std::nullopt, torch::kFloat, precision);
    model_->eval();
    tokenizer_ = text::load_tokenizer(dir);
    labels_ = model_->options().labels;
    multilabel_ = model_->options().problem_type == models::ProblemType::kMultiLabel;
    const int64_t max_pos = config.value("max_position_embeddings", int64_t{512});
    max_length_ = model_max_length(dir, std::min<int64_t>(max_pos, 512));
    if (config.contains("nlpc_thresholds")) {
      for (const auto& t : config["nlpc_thresholds"]) thresholds_.push_back(t.get<float>());
    }
    architecture_ = config.value("model_type", std::string("bert"));
    pad_id_ = pad_id_of(*tokenizer_);
  }

  const std::vector<std::string>& labels() const override { return labels_; }
  bool multilabel() const override { return multilabel_; }
  std::vector<float> thresholds() const override { return thresholds_; }
  std::string architecture() const override { return architecture_; }
  std::string tokenizer_description() const override { return tokenizer_->family(); }
  int64_t num_parameters() const override {
    int64_t n = 0;
    for (const auto& p : model_->parameters()) n += p.numel();
    return n;
  }
  bool prefers_length_batching() const override { return true; }
  void save_weights(const std::string& file) const override {
    models::save_safetensors(file, models::module_state_dict(*model_));
  }
  size_t default_batch_size() const override { return 32; }

  // texts: n strings -> probabilities [n, labels]
  eval::Matrix predict_proba(const std::vector<std::string>& texts, const std::vector<std::string>* pairs) override {
    const int64_t n = static_cast<int64_t>(texts.size()), k = static_cast<int64_t>(labels_.size());
    eval::Matrix out(n, k);
    if (n == 0) return out;
    std::vector<train::Example> ex;
    ex.reserve(texts.size());
    int64_t len = 1;
    for (size_t i = 0; i < texts.size(); ++i) {
      ex.push_back(encode_example(*tokenizer_, texts[i], pairs ? &(*pairs)[i] : nullptr, max_length_));
      len = std::max<int64_t>(len, static_cast<int64_t>(ex.back().ids.size()));
    }
    // ids, mask, types: [n, len]
    auto ids = torch::full({n, len}, pad_id_, torch::kLong);
    auto mask = torch::zeros({n, len}, torch::kLong);
    auto types = torch::zeros({n, len}, torch::kLong);
    auto ia = ids.accessor<int64_t, 2>(), ma = mask.accessor<int64_t, 2>(), ta = types.accessor<int64_t, 2>();
    for (int64_t i = 0; i < n; ++i) {
      const auto& e = ex[static_cast<size_t>(i)];
      for (size_t j = 0; j < e.ids.size(); ++j) {
        ia[i][static_cast<int64_t>(j)] = e.ids[j];
        ma[i][static_cast<int64_t>(j)] = 1;
        if (!e.type_ids.empty()) ta[i][static_cast<int64_t>(j)] = e.type_ids[j];
      }
    }
    torch::InferenceMode guard;
    torch::Tensor logits = model_->forward(ids.to(device_), mask.to(device_), types.to(device_));  // [n, k]
    torch::Tensor p = (multilabel_ ? torch::sigmoid(logits) : torch::softmax(logits, -1)).to(torch::kCPU).contiguous();
    std::copy(p.data_ptr<float>(), p.data_ptr<float>() + n * k, out.data.begin());
    return out;
  }

 private:
  c10::Device device_;
  std::shared_ptr<models::SequenceClassifier> model_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
  std::vector<std::string> labels_;
  std::vector<float> thresholds_;
  bool multilabel_ = false;
  int64_t max_length_ = 512;
  int64_t pad_id_ = 0;
  std::string architecture_;
};

}  // namespace

std::unique_ptr<TextClassifier> load_torch_classifier(const std::string& dir, const nlohmann::json& config,
                                                      const std::string& device, const std::string& precision) {
  const std::string type = config.value("model_type", "");
  if (type != "bert" && type != "distilbert") {
    throw InputError(dir + "/config.json", 0, 0,
                     "model_type '" + type + "' is not a text classifier nlpc can load (supported: nlpc-ngram, "
                     "bert, distilbert)");
  }
  return std::make_unique<TorchClassifier>(dir, config, device, precision);
}

}  // namespace nlpc
