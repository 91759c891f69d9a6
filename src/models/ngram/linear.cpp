// Training and prediction of the n-gram baseline (see include/nlpc/models/ngram_linear.h).
#include "nlpc/models/ngram/linear.h"

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <random>
#include <thread>

#include "features.h"
#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/core/system.h"
#include "nlpc/eval/classification.h"
#include "row_store.h"
#include "svm.h"

namespace nlpc::models {

using ngram::Csr;
using ngram::RowStore;

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

// Feeds the texts of a scan to work(thread, texts, begin, end) in chunks of about 8 MB, each chunk
// split over the threads in order; after(texts so far) runs on the calling thread once a chunk is done.
template <typename Work, typename After>
int64_t for_each_chunk(const NgramTextScan& scan, int threads, Work work, After after) {
  std::vector<std::string> chunk;
  size_t bytes = 0;
  int64_t total = 0;
  auto flush = [&] {
    if (chunk.empty()) return;
    parallel_chunks(int64_t(chunk.size()), threads,
                    [&](int t, int64_t b, int64_t e) { work(t, chunk, b, e); });
    total += int64_t(chunk.size());
    after(total);
    chunk.clear();
    bytes = 0;
    check_interrupted();
  };
  scan([&](std::string& text) {
    bytes += text.size();
    chunk.push_back(std::move(text));
    if (chunk.size() >= 16384 || bytes >= (size_t(8) << 20)) flush();
  });
  flush();
  return total;
}

// The texts of a data set as a scan: its own scan, or a pass over its texts.
NgramTextScan scan_of(const NgramDataset& d) {
  if (d.scan) return d.scan;
  return [&d](const std::function<void(std::string&)>& row) {
    std::string text;
    for (const auto& t : d.texts) {
      text = t;
      row(text);
    }
  };
}

// A scratch file name in `dir` ("" = none: in memory) that no other process picks.
std::string scratch_path(const std::string& dir, const std::string& what) {
  if (dir.empty()) return "";
  static std::atomic<uint64_t> serial{0};
  std::random_device rd;
  return dir + "/.nlpc-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(serial++) + "-" +
         std::to_string(rd() % 1000000u) + ".tmp";
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
  NgramTrainer(NgramModel& m, const NgramTrainOptions& o)
      : m_(m), o_(o), threads_(resolve_threads(o.threads)) {}

  // The counting pass: document frequencies, kept buckets and idf. Returns the number of texts.
  int64_t fit_vocabulary(const NgramTextScan& scan, int64_t expected) {
    const auto& f = m_.features_;
    ngram::validate(f);
    ngram::DfCounter counter(f, threads_);
    ProgressBar bar("n-gram counting", expected, "rows");
    const int64_t n_rows = for_each_chunk(
        scan, threads_,
        [&](int t, const std::vector<std::string>& texts, int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) counter.add(t, texts[size_t(i)]);
        },
        [&](int64_t done) { bar.update(done); });
    bar.update(n_rows);
    bar.finish();
    auto df = counter.finish();
    double n = double(n_rows);
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
    return n_rows;
  }

  // The vectorizing pass: TF-IDF rows, encoded into a RowStore (a scratch file in `dir`, or memory).
  RowStore vectorize_store(const NgramTextScan& scan, int64_t expected) const {
    // Small blocks (1/256 of a batch, at most 64 KiB), so that a batch gathers many blocks from
    // all over the data.
    const int64_t block = std::max<int64_t>(256, std::min<int64_t>(int64_t(64) << 10, o_.batch_bytes / 256));
    RowStore store(scratch_path(o_.scratch_dir, "ngram-matrix"), block);
    const size_t T = size_t(threads_);
    std::vector<std::vector<uint8_t>> encoded(T);
    std::vector<int64_t> rows(T, 0), nnz(T, 0);
    ProgressBar bar("n-gram vectors", expected, "rows");
    for_each_chunk(
        scan, threads_,
        [&](int t, const std::vector<std::string>& texts, int64_t b, int64_t e) {
          ngram::RowScratch scratch;
          std::vector<int32_t> ids;
          std::vector<float> vals;
          for (int64_t i = b; i < e; ++i) {
            ngram::tfidf_text(texts[size_t(i)], m_.remap_, m_.idf_, m_.features_, scratch, ids, vals);
            RowStore::encode_row(ids.data(), vals.data(), int64_t(ids.size()), encoded[size_t(t)]);
            rows[size_t(t)]++;
            nnz[size_t(t)] += int64_t(ids.size());
          }
        },
        [&](int64_t) {
          for (size_t t = 0; t < T; ++t) {
            if (rows[t] > 0) store.append(encoded[t], rows[t], nnz[t]);
            encoded[t].clear();
            rows[t] = nnz[t] = 0;
          }
          bar.update(store.rows());
        });
    store.finish();
    bar.finish();
    if (store.rows() != expected) {
      throw InputError("n-gram baseline: the training texts gave " + std::to_string(store.rows()) +
                       " rows on the second pass, " + std::to_string(expected) + " on the first");
    }
    spdlog::info("n-gram matrix: {} rows, {} non-zeros, {:.1f} MB ({:.2f} bytes per non-zero) {}",
                 store.rows(), store.nnz(), double(store.bytes()) / 1e6,
                 double(store.bytes()) / double(std::max<int64_t>(1, store.nnz())),
                 store.on_disk() ? "in a scratch file in " + o_.scratch_dir : std::string("in memory"));
    return store;
  }

  Csr vectorize_all(const std::vector<std::string>& texts) const {
    std::vector<Csr> parts(static_cast<size_t>(threads_));
    parallel_chunks(int64_t(texts.size()), threads_, [&](int t, int64_t b, int64_t e) {
      Csr& part = parts[size_t(t)];
      ngram::RowScratch scratch;
      std::vector<int32_t> ids;
      std::vector<float> vals;
      for (int64_t i = b; i < e; ++i) {
        ngram::tfidf_text(texts[size_t(i)], m_.remap_, m_.idf_, m_.features_, scratch, ids, vals);
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

  // targets: class ids (single-label) or sorted label sets (multi-label). One epoch reads the blocks
  // in a random order, a batch of them at a time, and visits a batch's rows in a random order, split
  // over the threads (Hogwild).
  void sgd(const RowStore& X, const std::vector<int>& y, const eval::LabelSets& sets, const Csr* valid_x,
           const NgramDataset* valid) {
    int k = m_.num_classes();
    size_t F = m_.buckets_.size();
    w_.assign(F * size_t(k), 0.f);
    b_.assign(size_t(k), 0.f);
    if (o_.average) {
      u_.assign(F * size_t(k), 0.f);
      ub_.assign(size_t(k), 0.f);
    }
    const int64_t n = X.rows();
    std::vector<size_t> blocks(X.blocks().size());
    std::iota(blocks.begin(), blocks.end(), size_t(0));
    std::vector<int64_t> order, global;
    std::mt19937_64 rng(o_.seed);
    total_steps_ = double(n) * o_.epochs;
    ProgressBar bar("train n-gram", int64_t(total_steps_), "samples");
    Csr rows;
    std::vector<uint8_t> raw;
    for (int epoch = 0; epoch < o_.epochs; ++epoch) {
      std::shuffle(blocks.begin(), blocks.end(), rng);
      double before = double(epoch) * double(n);  // steps of the batches already read
      for (const auto& batch : ngram::batches_of(X, blocks, o_.batch_bytes)) {
        rows = Csr();
        global.clear();
        for (const size_t blk : batch) {
          X.append_rows(blk, nullptr, rows, raw);
          for (int64_t r = 0; r < X.blocks()[blk].rows; ++r) global.push_back(X.blocks()[blk].first_row + r);
        }
        const int64_t m = rows.rows();
        order.resize(size_t(m));
        std::iota(order.begin(), order.end(), int64_t(0));
        std::shuffle(order.begin(), order.end(), rng);
        parallel_chunks(m, threads_, [&](int t, int64_t b, int64_t e) {
          std::vector<float> g(static_cast<size_t>(k));
          for (int64_t i = b; i < e; ++i) {
            // Hogwild step index, as if the threads interleaved their samples.
            double step = before + double(i - b) * threads_ + t + 1;
            const int64_t r = order[size_t(i)];
            step_one(rows, r, global[size_t(r)], y, sets, step, g.data());
            if (t == 0 && (i - b) % 2048 == 0) check_interrupted();
          }
        });
        before += double(m);
        bar.update(int64_t(before));
      }
      if (valid_x != nullptr && valid != nullptr)
        report_epoch(epoch, *valid_x, *valid, double(n) * (epoch + 1));
    }
    bar.update(int64_t(total_steps_));
    bar.finish();
    finalize_weights(total_steps_);
  }

  eval::Matrix proba(const Csr& X) const { return activate(m_, scores_csr(m_, X, threads_)); }

  static NgramModel train_any(NgramProblem problem, const NgramDataset& train,
                              const std::vector<std::string>& names, const NgramFeatureOptions& features,
                              const NgramTrainOptions& options, const NgramDataset* valid);

  // Raw linear scores [n x k].
  static eval::Matrix scores_csr(const NgramModel& m, const Csr& X, int threads) {
    eval::Matrix out(X.rows(), m.num_classes());
    scores_into(m, X, threads, out, 0);
    return out;
  }
  // Scores of a sample of the store's rows: every stride-th block, about `max_rows` rows in all;
  // `rows` gets their row numbers.
  static eval::Matrix scores_sample(const NgramModel& m, const RowStore& X, int threads, int64_t max_rows,
                                    std::vector<int64_t>& rows) {
    const size_t stride =
        size_t(std::max<int64_t>(1, (X.rows() + max_rows - 1) / std::max<int64_t>(1, max_rows)));
    rows.clear();
    for (size_t b = 0; b < X.blocks().size(); b += stride) {
      for (int64_t r = 0; r < X.blocks()[b].rows; ++r) rows.push_back(X.blocks()[b].first_row + r);
    }
    eval::Matrix out(int64_t(rows.size()), m.num_classes());
    Csr part;
    std::vector<uint8_t> raw;
    int64_t at = 0;
    for (size_t b = 0; b < X.blocks().size(); b += stride) {
      X.read(b, part, raw);
      scores_into(m, part, threads, out, at);
      at += part.rows();
    }
    return out;
  }
  static void scores_into(const NgramModel& m, const Csr& X, int threads, eval::Matrix& out, int64_t first) {
    const int k = m.num_classes();
    parallel_chunks(X.rows(), threads, [&](int, int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        int64_t s = X.row_ptr[size_t(r)];
        linear_scores(X.ids.data() + s, X.values.data() + s, X.row_ptr[size_t(r) + 1] - s, m.weight_.data(),
                      m.bias_.data(), k, out.row(first + r));
      }
    });
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

  void svm(const RowStore& X, const NgramDataset& train, const Csr* valid_x, const NgramDataset* valid) {
    ngram::SvmOptions so;
    so.C = o_.C;
    so.tol = o_.tol;
    so.max_iter = o_.max_iter;
    so.seed = o_.seed;
    so.threads = threads_;
    so.batch_bytes = o_.batch_bytes;
    int k = m_.num_classes();
    ProgressBar bar("train n-gram svm", k, "classes");
    int done = 0;
    so.on_class_done = [&] { bar.update(++done); };
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
    ngram::train_ovr_svm(X, scratch_path(o_.scratch_dir, "ngram-svm-state"), m_.num_features(), k, positive,
                         so, m_.weight_, m_.bias_);
    bar.finish();
    // Calibrate probabilities on the validation rows (or a sample of up to ~50,000 training rows).
    ngram::ScoreTargets t;
    std::vector<int> sample_labels;
    eval::LabelSets sample_sets;
    eval::Matrix scores;
    if (valid != nullptr) {
      scores = scores_csr(m_, *valid_x, threads_);
      t.labels = &valid->labels;
      t.sets = &valid->label_sets;
    } else {
      std::vector<int64_t> rows;
      scores = scores_sample(m_, X, threads_, 50000, rows);
      for (const int64_t r : rows) {
        if (m_.problem_ == NgramProblem::kSingleLabel) {
          sample_labels.push_back(train.labels[size_t(r)]);
        } else {
          sample_sets.push_back(train.label_sets[size_t(r)]);
        }
      }
      t.labels = &sample_labels;
      t.sets = &sample_sets;
    }
    if (m_.problem_ == NgramProblem::kSingleLabel) {
      t.sets = nullptr;
    } else {
      t.labels = nullptr;
    }
    m_.score_scale_ = float(ngram::fit_score_scale(scores, t));
    spdlog::info("n-gram svm: probability scale {:.3f} fitted on the {} set", m_.score_scale_,
                 valid != nullptr ? "validation" : "training");
  }

 private:
  // One SGD step on row r of X, which is row `yr` of the targets.
  void step_one(const Csr& X, int64_t r, int64_t yr, const std::vector<int>& y, const eval::LabelSets& sets,
                double step, float* g) {
    int k = m_.num_classes();
    int64_t s = X.row_ptr[size_t(r)], nnz = X.row_ptr[size_t(r) + 1] - s;
    const int32_t* ids = X.ids.data() + s;
    const float* vals = X.values.data() + s;
    linear_scores(ids, vals, nnz, w_.data(), b_.data(), k, g);
    if (m_.problem_ == NgramProblem::kSingleLabel) {
      softmax_inplace(g, k);
      g[y[size_t(yr)]] -= 1.0f;  // dL/ds = p - onehot(y)
    } else {
      sigmoid_inplace(g, k);
      for (int l : sets[size_t(yr)]) g[l] -= 1.0f;  // dL/ds = sigmoid(s) - y
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
      for (const char* name : {"f1_micro", "f1_macro", "precision_at_1"}) ms.set(name, all.get(name));
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
    throw UsageError("expected " + std::to_string(labels_.size()) + " thresholds, got " +
                     std::to_string(t.size()));
  }
  thresholds_ = std::move(t);
}

static void check_dataset(const NgramDataset& d, size_t k, bool multi, const char* which) {
  size_t n = multi ? d.label_sets.size() : d.labels.size();
  if (!d.scan && d.texts.size() != n) {
    n = d.texts.size();
    if (n == 0) throw InputError(std::string("n-gram baseline: the ") + which + " set is empty");
    throw InputError(std::string("n-gram baseline: ") + which + " set has " + std::to_string(n) +
                     " texts but a different number of labels");
  }
  if (n == 0) throw InputError(std::string("n-gram baseline: the ") + which + " set is empty");
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
  if (valid != nullptr && valid->texts.size() != (multi ? valid->label_sets.size() : valid->labels.size())) {
    throw UsageError("n-gram baseline: the validation set must be given as texts (it is kept in memory)");
  }
  struct ProgressMode {  // the bars of the passes below follow options.progress
    bool off;
    explicit ProgressMode(bool show) : off(!show) {
      if (off) ProgressBar::set_mode(ProgressBar::Mode::kOff);
    }
    ~ProgressMode() {
      if (off) ProgressBar::set_mode(ProgressBar::Mode::kAuto);
    }
  } progress_mode(options.progress);
  NgramTrainer trainer(m, options);
  const int64_t n = multi ? int64_t(train.label_sets.size()) : int64_t(train.labels.size());
  const NgramTextScan scan = scan_of(train);
  const int64_t seen = trainer.fit_vocabulary(scan, n);
  if (seen != n) {
    throw InputError("n-gram baseline: the training set has " + std::to_string(n) + " labels but " +
                     std::to_string(seen) + " texts");
  }
  spdlog::info("n-gram baseline: {} features from {} texts", m.num_features(), n);
  const RowStore X = trainer.vectorize_store(scan, n);
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

NgramModel NgramModel::train_multilabel(const NgramDataset& train,
                                        const std::vector<std::string>& label_names,
                                        const NgramFeatureOptions& features, const NgramTrainOptions& options,
                                        const NgramDataset* valid) {
  return NgramTrainer::train_any(NgramProblem::kMultiLabel, train, label_names, features, options, valid);
}

NgramModel::SparseRow NgramModel::vectorize(const std::string& text) const {
  thread_local ngram::RowScratch scratch;
  SparseRow row;
  ngram::tfidf_text(text, remap_, idf_, features_, scratch, row.ids, row.values);
  return row;
}

eval::Matrix NgramModel::predict_proba(const std::vector<std::string>& texts, int threads) const {
  int k = num_classes();
  eval::Matrix out(int64_t(texts.size()), k);
  parallel_chunks(int64_t(texts.size()), resolve_threads(threads), [&](int t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (t == 0 && (i - b) % 1024 == 0) check_interrupted();
      auto row = vectorize(texts[size_t(i)]);
      linear_scores(row.ids.data(), row.values.data(), int64_t(row.ids.size()), weight_.data(), bias_.data(),
                    k, out.row(i));
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
