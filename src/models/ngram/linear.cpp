// Training and prediction of the n-gram baseline (see include/nlpc/models/ngram_linear.h).
#include "nlpc/models/ngram/linear.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <random>
#include <thread>

#include "features.h"
#include "svm.h"
#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/core/system.h"
#include "nlpc/eval/classification.h"

namespace nlpc::models {

using ngram::Csr;

namespace {

int resolve_threads(int t) { return t > 0 ? t : std::max(1, num_threads()); }

// Runs fn(thread_index, begin, end) over contiguous chunks of [0, n).
template <typename Fn>
void parallel_chunks(int64_t n, int threads, Fn fn) {
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back([&, t] { fn(t, n * t / threads, n * (t + 1) / threads); });
  }
  fn(0, 0, n / threads);
  for (auto& th : pool) th.join();
}

// scores[k] = bias + sum_f x_f * W[f, :]   (W: [F x k] row-major)
void linear_scores(const int32_t* ids, const float* vals, int64_t nnz, const float* w, const float* bias,
                   int k, float* scores) {
  std::copy(bias, bias + k, scores);
  for (int64_t j = 0; j < nnz; ++j) {
    const float* row = w + int64_t(ids[j]) * k;
    float x = vals[j];
    for (int c = 0; c < k; ++c) scores[c] += x * row[c];
  }
}

void softmax_inplace(float* s, int k) {
  float m = *std::max_element(s, s + k);
  float sum = 0;
  for (int c = 0; c < k; ++c) sum += (s[c] = std::exp(s[c] - m));
  for (int c = 0; c < k; ++c) s[c] /= sum;
}

void sigmoid_inplace(float* s, int k) {
  for (int c = 0; c < k; ++c) s[c] = 1.0f / (1.0f + std::exp(-s[c]));
}

}  // namespace

// Owns the SGD state while a model is trained.
class NgramTrainer {
 public:
  NgramTrainer(NgramModel& m, const NgramTrainOptions& o) : m_(m), o_(o), threads_(resolve_threads(o.threads)) {}

  void fit_vocabulary(const std::vector<std::string>& texts) {
    const auto& f = m_.features_;
    ngram::validate(f);
    auto df = ngram::document_frequencies(texts, f, threads_);
    double n = double(texts.size());
    for (size_t b = 0; b < df.size(); ++b) {
      if (df[b] >= uint32_t(f.min_df)) {
        m_.buckets_.push_back(uint32_t(b));
        m_.idf_.push_back(float(std::log((1 + n) / (1 + double(df[b]))) + 1));
      }
    }
    m_.build_remap();
    if (m_.buckets_.empty()) {
      throw InputError("n-gram baseline: no feature occurs in at least min_df=" + std::to_string(f.min_df) +
                       " training texts; lower min_df or check the text column");
    }
  }

  Csr vectorize_all(const std::vector<std::string>& texts) const {
    std::vector<Csr> parts(static_cast<size_t>(threads_));
    parallel_chunks(int64_t(texts.size()), threads_, [&](int t, int64_t b, int64_t e) {
      Csr& part = parts[size_t(t)];
      std::vector<uint64_t> items;
      std::vector<std::pair<uint64_t, uint32_t>> counts;
      std::vector<int32_t> ids;
      std::vector<float> vals;
      for (int64_t i = b; i < e; ++i) {
        ngram::extract(texts[size_t(i)], m_.features_, items);
        ngram::count_items(items, counts);
        ngram::tfidf_row(counts, m_.remap_, m_.idf_, m_.features_, ids, vals);
        part.ids.insert(part.ids.end(), ids.begin(), ids.end());
        part.values.insert(part.values.end(), vals.begin(), vals.end());
        part.row_ptr.push_back(int64_t(part.ids.size()));
      }
    });
    Csr all;
    for (auto& p : parts) {
      int64_t base = int64_t(all.ids.size());
      for (size_t r = 1; r < p.row_ptr.size(); ++r) all.row_ptr.push_back(base + p.row_ptr[r]);
      all.ids.insert(all.ids.end(), p.ids.begin(), p.ids.end());
      all.values.insert(all.values.end(), p.values.begin(), p.values.end());
      Csr().ids.swap(p.ids);
    }
    return all;
  }

  // targets: class ids (single-label) or sorted label sets (multi-label).
  void sgd(const Csr& X, const std::vector<int>& y, const eval::LabelSets& sets, const Csr* valid_x,
           const NgramDataset* valid) {
    int k = m_.num_classes();
    size_t F = m_.buckets_.size();
    w_.assign(F * size_t(k), 0.f);
    b_.assign(size_t(k), 0.f);
    if (o_.average) {
      u_.assign(F * size_t(k), 0.f);
      ub_.assign(size_t(k), 0.f);
    }
    int64_t n = X.rows();
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::mt19937_64 rng(o_.seed);
    total_steps_ = double(n) * o_.epochs;
    if (!o_.progress) ProgressBar::set_mode(ProgressBar::Mode::kOff);
    ProgressBar bar("train n-gram", int64_t(total_steps_), "samples");
    for (int epoch = 0; epoch < o_.epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      parallel_chunks(n, threads_, [&](int t, int64_t b, int64_t e) {
        std::vector<float> g(static_cast<size_t>(k));
        for (int64_t i = b; i < e; ++i) {
          // Hogwild step index, as if the threads interleaved their samples.
          double step = double(epoch) * double(n) + double(i - b) * threads_ + t + 1;
          int64_t r = order[size_t(i)];
          step_one(X, r, y, sets, step, g.data());
          if (t == 0 && (i - b) % 2048 == 0) {
            check_interrupted();
            bar.update(int64_t(step));
          }
        }
      });
      if (valid_x != nullptr && valid != nullptr) report_epoch(epoch, *valid_x, *valid, double(n) * (epoch + 1));
    }
    bar.update(int64_t(total_steps_));
    bar.finish();
    if (!o_.progress) ProgressBar::set_mode(ProgressBar::Mode::kAuto);
    finalize_weights(total_steps_);
  }

  eval::Matrix proba(const Csr& X) const { return activate(m_, scores_csr(m_, X, threads_)); }

  static NgramModel train_any(NgramProblem problem, const NgramDataset& train,
                              const std::vector<std::string>& names, const NgramFeatureOptions& features,
                              const NgramTrainOptions& options, const NgramDataset* valid);

  // Raw linear scores [n x k].
  static eval::Matrix scores_csr(const NgramModel& m, const Csr& X, int threads) {
    int k = m.num_classes();
    eval::Matrix out(X.rows(), k);
    parallel_chunks(X.rows(), threads, [&](int, int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        int64_t s = X.row_ptr[size_t(r)];
        linear_scores(X.ids.data() + s, X.values.data() + s, X.row_ptr[size_t(r) + 1] - s, m.weight_.data(),
                      m.bias_.data(), k, out.row(r));
      }
    });
    return out;
  }

  // Scores -> probabilities, in place.
  static eval::Matrix activate(const NgramModel& m, eval::Matrix p) {
    for (int64_t r = 0; r < p.rows; ++r) activate_row(m, p.row(r));
    return p;
  }
  static void activate_row(const NgramModel& m, float* s) {
    int k = m.num_classes();
    if (m.score_scale_ != 1.0f) {
      for (int c = 0; c < k; ++c) s[c] *= m.score_scale_;
    }
    if (m.problem_ == NgramProblem::kSingleLabel) {
      softmax_inplace(s, k);
    } else {
      sigmoid_inplace(s, k);
    }
  }

  void svm(const Csr& X, const NgramDataset& train, const Csr* valid_x, const NgramDataset* valid) {
    ngram::SvmOptions so;
    so.C = o_.C;
    so.tol = o_.tol;
    so.max_iter = o_.max_iter;
    so.seed = o_.seed;
    so.threads = threads_;
    int k = m_.num_classes();
    if (!o_.progress) ProgressBar::set_mode(ProgressBar::Mode::kOff);
    ProgressBar bar("train n-gram svm", k, "classes");
    std::atomic<int> done{0};
    so.on_class_done = [&] { done++; };
    std::vector<std::vector<char>> member;
    ngram::PositiveFn positive;
    if (m_.problem_ == NgramProblem::kSingleLabel) {
      positive = [&](int c, int64_t r) { return train.labels[size_t(r)] == c; };
    } else {
      member.assign(size_t(k), std::vector<char>(train.label_sets.size(), 0));
      for (size_t r = 0; r < train.label_sets.size(); ++r) {
        for (int l : train.label_sets[r]) member[size_t(l)][r] = 1;
      }
      positive = [&](int c, int64_t r) { return member[size_t(c)][size_t(r)] != 0; };
    }
    ngram::train_ovr_svm(X, m_.num_features(), k, positive, so, m_.weight_, m_.bias_);
    bar.update(done);
    bar.finish();
    if (!o_.progress) ProgressBar::set_mode(ProgressBar::Mode::kAuto);
    // Calibrate probabilities on the validation rows (or the training rows).
    const Csr& cx = valid_x != nullptr ? *valid_x : X;
    const NgramDataset& cd = valid != nullptr ? *valid : train;
    ngram::ScoreTargets t;
    if (m_.problem_ == NgramProblem::kSingleLabel) {
      t.labels = &cd.labels;
    } else {
      t.sets = &cd.label_sets;
    }
    m_.score_scale_ = float(ngram::fit_score_scale(scores_csr(m_, cx, threads_), t));
    spdlog::info("n-gram svm: probability scale {:.3f} fitted on the {} set", m_.score_scale_,
                 valid != nullptr ? "validation" : "training");
  }

 private:
  void step_one(const Csr& X, int64_t r, const std::vector<int>& y, const eval::LabelSets& sets, double step,
                float* g) {
    int k = m_.num_classes();
    int64_t s = X.row_ptr[size_t(r)], nnz = X.row_ptr[size_t(r) + 1] - s;
    const int32_t* ids = X.ids.data() + s;
    const float* vals = X.values.data() + s;
    linear_scores(ids, vals, nnz, w_.data(), b_.data(), k, g);
    if (m_.problem_ == NgramProblem::kSingleLabel) {
      softmax_inplace(g, k);
      g[y[size_t(r)]] -= 1.0f;  // dL/ds = p - onehot(y)
    } else {
      sigmoid_inplace(g, k);
      for (int l : sets[size_t(r)]) g[l] -= 1.0f;  // dL/ds = sigmoid(s) - y
    }
    float lr = float(o_.lr * (1.0 - (step - 1) / total_steps_));
    float avg = float(step);  // Daume's trick: u accumulates step * update
    for (int64_t j = 0; j < nnz; ++j) {
      float* row = w_.data() + int64_t(ids[j]) * k;
      float* urow = o_.average ? u_.data() + int64_t(ids[j]) * k : nullptr;
      float x = vals[j];
      for (int c = 0; c < k; ++c) {
        float d = -lr * (x * g[c] + o_.l2 * row[c]);
        row[c] += d;
        if (urow) urow[c] += avg * d;
      }
    }
    for (int c = 0; c < k; ++c) {
      float d = -lr * g[c];
      b_[size_t(c)] += d;
      if (o_.average) ub_[size_t(c)] += avg * d;
    }
  }

  // The model's weights: the average of all iterates (w - u / steps) or the last iterate.
  void finalize_weights(double steps) {
    m_.weight_ = w_;
    m_.bias_ = b_;
    if (!o_.average) return;
    float inv = float(1.0 / steps);
    for (size_t i = 0; i < w_.size(); ++i) m_.weight_[i] -= u_[i] * inv;
    for (size_t i = 0; i < b_.size(); ++i) m_.bias_[i] -= ub_[i] * inv;
  }

  void report_epoch(int epoch, const Csr& vx, const NgramDataset& valid, double steps) {
    finalize_weights(steps);
    auto p = proba(vx);
    eval::MetricSet ms;
    if (m_.problem_ == NgramProblem::kSingleLabel) {
      eval::ClassificationOptions co;
      co.per_class = false;
      co.roc_auc = false;
      auto all = eval::classification_metrics(valid.labels, p, {}, co);
      for (const char* name : {"accuracy", "f1_macro", "log_loss"}) ms.set(name, all.get(name));
    } else {
      auto all = eval::multilabel_metrics(valid.label_sets, p, {0.5f});
      for (const char* name : {"f1_micro", "f1_macro", "precision@1"}) ms.set(name, all.get(name));
    }
    spdlog::info("n-gram epoch {}/{}: valid {}", epoch + 1, o_.epochs, ms.to_json());
    if (o_.on_epoch) o_.on_epoch(epoch + 1, ms);
  }

  NgramModel& m_;
  NgramTrainOptions o_;
  int threads_;
  double total_steps_ = 1;
  std::vector<float> w_, b_, u_, ub_;
};

void NgramModel::build_remap() {
  remap_.assign(size_t(1) << features_.hash_bits, -1);
  for (size_t i = 0; i < buckets_.size(); ++i) remap_[buckets_[i]] = int32_t(i);
}

void NgramModel::set_thresholds(std::vector<float> t) {
  if (t.size() != labels_.size()) {
    throw UsageError("expected " + std::to_string(labels_.size()) + " thresholds, got " + std::to_string(t.size()));
  }
  thresholds_ = std::move(t);
}

static void check_dataset(const NgramDataset& d, size_t k, bool multi, const char* which) {
  size_t n = d.texts.size();
  if (n == 0) throw InputError(std::string("n-gram baseline: the ") + which + " set is empty");
  if ((multi ? d.label_sets.size() : d.labels.size()) != n) {
    throw InputError(std::string("n-gram baseline: ") + which + " set has " + std::to_string(n) +
                     " texts but a different number of labels");
  }
  for (size_t i = 0; i < n; ++i) {
    auto check = [&](int y) {
      if (y < 0 || size_t(y) >= k) {
        throw InputError(std::string("n-gram baseline: ") + which + " row " + std::to_string(i + 1) +
                         ": label id " + std::to_string(y) + " outside 0.." + std::to_string(k - 1));
      }
    };
    if (multi) {
      for (int y : d.label_sets[i]) check(y);
    } else {
      check(d.labels[i]);
    }
  }
}

NgramModel NgramTrainer::train_any(NgramProblem problem, const NgramDataset& train,
                                   const std::vector<std::string>& names, const NgramFeatureOptions& features,
                                   const NgramTrainOptions& options, const NgramDataset* valid) {
  bool multi = problem == NgramProblem::kMultiLabel;
  if (names.size() < (multi ? 1u : 2u)) throw InputError("n-gram baseline: need at least two classes");
  if (options.solver != "svm" && options.solver != "sgd") {
    throw UsageError("n-gram baseline: solver must be \"svm\" or \"sgd\", got \"" + options.solver + "\"");
  }
  if (!(options.C > 0) || !(options.tol > 0) || options.max_iter < 1) {
    throw UsageError("n-gram baseline: C and tol must be > 0 and max_iter >= 1");
  }
  if (options.epochs < 1 || !(options.lr > 0) || options.l2 < 0) {
    throw UsageError("n-gram baseline: epochs must be >= 1, lr > 0 and l2 >= 0");
  }
  check_dataset(train, names.size(), multi, "training");
  if (valid != nullptr) check_dataset(*valid, names.size(), multi, "validation");
  NgramModel m;
  m.problem_ = problem;
  m.features_ = features;
  m.labels_ = names;
  NgramTrainer trainer(m, options);
  trainer.fit_vocabulary(train.texts);
  spdlog::info("n-gram baseline: {} features from {} texts", m.num_features(), train.texts.size());
  Csr X = trainer.vectorize_all(train.texts);
  Csr vx;
  if (valid != nullptr) vx = trainer.vectorize_all(valid->texts);
  if (options.solver == "svm") {
    trainer.svm(X, train, valid ? &vx : nullptr, valid);
  } else {
    trainer.sgd(X, train.labels, train.label_sets, valid ? &vx : nullptr, valid);
  }
  if (multi) {
    m.thresholds_.assign(names.size(), 0.5f);
    if (valid != nullptr) m.thresholds_ = eval::tune_thresholds(valid->label_sets, trainer.proba(vx), 0.5f);
  }
  return m;
}

NgramModel NgramModel::train(const NgramDataset& train, const std::vector<std::string>& label_names,
                             const NgramFeatureOptions& features, const NgramTrainOptions& options,
                             const NgramDataset* valid) {
  return NgramTrainer::train_any(NgramProblem::kSingleLabel, train, label_names, features, options, valid);
}

NgramModel NgramModel::train_multilabel(const NgramDataset& train, const std::vector<std::string>& label_names,
                                        const NgramFeatureOptions& features, const NgramTrainOptions& options,
                                        const NgramDataset* valid) {
  return NgramTrainer::train_any(NgramProblem::kMultiLabel, train, label_names, features, options, valid);
}

NgramModel::SparseRow NgramModel::vectorize(const std::string& text) const {
  std::vector<uint64_t> items;
  std::vector<std::pair<uint64_t, uint32_t>> counts;
  SparseRow row;
  ngram::extract(text, features_, items);
  ngram::count_items(items, counts);
  ngram::tfidf_row(counts, remap_, idf_, features_, row.ids, row.values);
  return row;
}

eval::Matrix NgramModel::predict_proba(const std::vector<std::string>& texts, int threads) const {
  int k = num_classes();
  eval::Matrix out(int64_t(texts.size()), k);
  parallel_chunks(int64_t(texts.size()), resolve_threads(threads), [&](int t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (t == 0 && (i - b) % 1024 == 0) check_interrupted();
      auto row = vectorize(texts[size_t(i)]);
      linear_scores(row.ids.data(), row.values.data(), int64_t(row.ids.size()), weight_.data(), bias_.data(), k,
                    out.row(i));
      NgramTrainer::activate_row(*this, out.row(i));
    }
  });
  return out;
}

std::vector<int> NgramModel::predict(const std::vector<std::string>& texts, int threads) const {
  return eval::argmax_rows(predict_proba(texts, threads));
}

eval::LabelSets NgramModel::predict_sets(const std::vector<std::string>& texts, int threads) const {
  auto p = predict_proba(texts, threads);
  eval::LabelSets out(size_t(p.rows));
  for (int64_t i = 0; i < p.rows; ++i) {
    for (int64_t l = 0; l < p.cols; ++l) {
      float t = thresholds_.empty() ? 0.5f : thresholds_[size_t(l)];
      if (p.at(i, l) >= t) out[size_t(i)].push_back(int(l));
    }
  }
  return out;
}

}  // namespace nlpc::models
