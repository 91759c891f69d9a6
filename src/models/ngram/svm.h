#pragma once
// Internal to the n-gram baseline: one-vs-rest squared-hinge SVMs (dual coordinate descent) and
// the calibration of their scores into probabilities.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "features.h"
#include "row_store.h"
#include "nlpc/eval/matrix.h"
#include "nlpc/eval/multilabel.h"

namespace nlpc::models::ngram {

struct SvmOptions {
  double C = 0.5;      // inverse regularisation strength (scikit-learn LinearSVC's C)
  double tol = 0.1;    // stop when the projected-gradient range is below tol (LIBLINEAR's eps)
  int max_iter = 200;  // passes over the (shrunk) data per class
  uint64_t seed = 0;
  int threads = 1;
  int64_t batch_bytes = int64_t(16) << 20;  // encoded bytes of the blocks read and decoded together
  std::function<void()> on_class_done;  // called from worker threads
};

using PositiveFn = std::function<bool(int cls, int64_t row)>;

// weight: [F x k] row-major, bias: [k]. The bias is learned as the weight of a constant feature 1
// (regularised, as LIBLINEAR and scikit-learn do with intercept_scaling = 1). The rows are read a
// batch of random blocks at a time and every class takes its sweep over the batch before the next
// is read (block minimisation, Yu et al., KDD 2010); the dual variables live in a SlabStore at
// `state_path` ("" = in memory). Memory: the weights of the classes plus one batch.
void train_ovr_svm(const RowStore& X, const std::string& state_path, int64_t num_features, int k,
                   const PositiveFn& positive, const SvmOptions& o, std::vector<float>& weight,
                   std::vector<float>& bias);

struct ScoreTargets {
  const std::vector<int>* labels = nullptr;   // single-label
  const eval::LabelSets* sets = nullptr;      // multi-label
};

// The scale a > 0 minimising the log loss of softmax(a * scores) (single-label) or
// sigmoid(a * scores) (multi-label) on the given rows.
double fit_score_scale(const eval::Matrix& scores, const ScoreTargets& targets);

}  // namespace nlpc::models::ngram
