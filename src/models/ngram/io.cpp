// Saving and loading the n-gram baseline: config.json + model.safetensors (see ngram_linear.h).
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "features.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/io/safetensors.h"
#include "nlpc/models/ngram/linear.h"

namespace nlpc::models {

namespace st = nlpc::safetensors;
using nlohmann::ordered_json;

namespace {

const char* kModelType = "nlpc-ngram";

ordered_json features_json(const NgramFeatureOptions& f) {
  return ordered_json{{"lowercase", f.lowercase},       {"word_ngram_min", f.word_ngram_min},
                      {"word_ngram_max", f.word_ngram_max}, {"char_ngram_min", f.char_ngram_min},
                      {"char_ngram_max", f.char_ngram_max}, {"hash_bits", f.hash_bits},
                      {"min_df", f.min_df},             {"sublinear_tf", f.sublinear_tf},
                      {"use_idf", f.use_idf},           {"word_weight", f.word_weight},
                      {"char_weight", f.char_weight}};
}

template <typename T>
T field(const ordered_json& j, const char* key, const std::string& file) {
  if (!j.contains(key)) throw InputError(file, 0, 0, std::string("missing key \"") + key + "\"");
  try {
    return j.at(key).get<T>();
  } catch (const std::exception& e) {
    throw InputError(file, 0, 0, std::string("key \"") + key + "\" has the wrong type: " + e.what());
  }
}

NgramFeatureOptions features_from(const ordered_json& j, const std::string& file) {
  NgramFeatureOptions f;
  f.lowercase = field<bool>(j, "lowercase", file);
  f.word_ngram_min = field<int>(j, "word_ngram_min", file);
  f.word_ngram_max = field<int>(j, "word_ngram_max", file);
  f.char_ngram_min = field<int>(j, "char_ngram_min", file);
  f.char_ngram_max = field<int>(j, "char_ngram_max", file);
  f.hash_bits = field<int>(j, "hash_bits", file);
  f.min_df = field<int>(j, "min_df", file);
  f.sublinear_tf = field<bool>(j, "sublinear_tf", file);
  f.use_idf = field<bool>(j, "use_idf", file);
  f.word_weight = field<float>(j, "word_weight", file);
  f.char_weight = field<float>(j, "char_weight", file);
  try {
    ngram::validate(f);
  } catch (const UsageError& e) {
    throw InputError(file, 0, 0, e.what());
  }
  return f;
}

// Copies tensor `name` into `out`, checking dtype and shape.
template <typename T>
void read_tensor(const st::File& file, const std::string& name, st::DType dtype, const std::vector<int64_t>& shape,
                 std::vector<T>& out) {
  const st::TensorInfo* t = file.find(name);
  auto shape_str = [](const std::vector<int64_t>& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
  };
  if (t == nullptr) throw InputError(file.path(), 0, 0, "missing tensor \"" + name + "\"");
  if (t->dtype != dtype || t->shape != shape) {
    throw InputError(file.path(), 0, 0,
                     "tensor \"" + name + "\": expected " + st::dtype_name(dtype) + " " + shape_str(shape) +
                         ", got " + st::dtype_name(t->dtype) + " " + shape_str(t->shape));
  }
  out.resize(size_t(t->numel()));
  file.copy_out(*t, out.data());
}

}  // namespace

void NgramModel::save(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  bool multi = problem_ == NgramProblem::kMultiLabel;
  ordered_json id2label = ordered_json::object(), label2id = ordered_json::object();
  for (size_t i = 0; i < labels_.size(); ++i) {
    id2label[std::to_string(i)] = labels_[i];
    label2id[labels_[i]] = i;
  }
  ordered_json cfg{{"model_type", kModelType},
                   {"problem_type", multi ? "multi_label_classification" : "single_label_classification"},
                   {"num_labels", labels_.size()},
                   {"id2label", id2label},
                   {"label2id", label2id},
                   {"num_features", buckets_.size()},
                   {"score_scale", score_scale_},
                   {"features", features_json(features_)}};
  int64_t F = int64_t(buckets_.size()), k = int64_t(labels_.size());
  std::vector<st::TensorView> t = {
      {"weight", st::DType::F32, {F, k}, weight_.data(), weight_.size() * sizeof(float)},
      {"bias", st::DType::F32, {k}, bias_.data(), bias_.size() * sizeof(float)},
      {"idf", st::DType::F32, {F}, idf_.data(), idf_.size() * sizeof(float)},
      {"buckets", st::DType::I32, {F}, buckets_.data(), buckets_.size() * sizeof(uint32_t)}};
  if (multi) t.push_back({"thresholds", st::DType::F32, {k}, thresholds_.data(), thresholds_.size() * sizeof(float)});
  st::write(dir + "/model.safetensors", t, {{"format", "nlpc-ngram"}});
  write_file_atomic(dir + "/config.json", cfg.dump(2) + "\n");
}

NgramModel NgramModel::load(const std::string& dir) {
  std::string cfg_path = dir + "/config.json";
  ordered_json cfg;
  try {
    cfg = ordered_json::parse(read_file(cfg_path));
  } catch (const ordered_json::parse_error& e) {
    throw InputError(cfg_path, 0, 0, std::string("invalid JSON: ") + e.what());
  }
  auto type = field<std::string>(cfg, "model_type", cfg_path);
  if (type != kModelType) {
    throw InputError(cfg_path, 0, 0, "model_type is \"" + type + "\", expected \"" + kModelType + "\"");
  }
  NgramModel m;
  auto problem = field<std::string>(cfg, "problem_type", cfg_path);
  if (problem == "multi_label_classification") {
    m.problem_ = NgramProblem::kMultiLabel;
  } else if (problem != "single_label_classification") {
    throw InputError(cfg_path, 0, 0, "unknown problem_type \"" + problem + "\"");
  }
  auto k = field<int64_t>(cfg, "num_labels", cfg_path);
  auto id2label = field<ordered_json>(cfg, "id2label", cfg_path);
  for (int64_t i = 0; i < k; ++i) {
    auto key = std::to_string(i);
    if (!id2label.contains(key)) throw InputError(cfg_path, 0, 0, "id2label lacks id " + key);
    m.labels_.push_back(id2label[key].get<std::string>());
  }
  m.features_ = features_from(field<ordered_json>(cfg, "features", cfg_path), cfg_path);
  m.score_scale_ = field<float>(cfg, "score_scale", cfg_path);
  auto F = field<int64_t>(cfg, "num_features", cfg_path);
  auto file = st::File::open(dir + "/model.safetensors");
  read_tensor(*file, "weight", st::DType::F32, {F, k}, m.weight_);
  read_tensor(*file, "bias", st::DType::F32, {k}, m.bias_);
  read_tensor(*file, "idf", st::DType::F32, {F}, m.idf_);
  read_tensor(*file, "buckets", st::DType::I32, {F}, m.buckets_);
  if (m.problem_ == NgramProblem::kMultiLabel) read_tensor(*file, "thresholds", st::DType::F32, {k}, m.thresholds_);
  uint32_t limit = uint32_t(1) << m.features_.hash_bits;
  for (size_t i = 0; i < m.buckets_.size(); ++i) {
    if (m.buckets_[i] >= limit || (i > 0 && m.buckets_[i] <= m.buckets_[i - 1])) {
      throw InputError(file->path(), 0, 0, "tensor \"buckets\" must be strictly increasing and below 2^hash_bits");
    }
  }
  m.build_remap();
  return m;
}

}  // namespace nlpc::models
