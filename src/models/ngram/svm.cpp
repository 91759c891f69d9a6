// One-vs-rest L2-regularised squared-hinge linear SVMs trained by dual coordinate descent with
// shrinking (Hsieh et al., ICML 2008; the solver of LIBLINEAR and scikit-learn's LinearSVC), and a
// one-parameter score calibration for probabilities. Classes are independent, so they are trained
// in parallel and the result does not depend on the number of threads.
#include "svm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

#include "nlpc/dist/dist.h"
#include "nlpc/core/signals.h"

namespace nlpc::models::ngram {

namespace {

double dot(const std::vector<float>& w, const int32_t* ids, const float* vals, int64_t nnz, float bias_w) {
  double s = bias_w;  // the bias is an extra feature of constant value 1
  for (int64_t j = 0; j < nnz; ++j) s += double(w[size_t(ids[j])]) * vals[j];
  return s;
}

// One binary problem. y[i] = +1 / -1. Returns w (size F) and the bias weight.
void solve_binary(const Csr& X, const std::vector<double>& sq_norms, const std::vector<int8_t>& y,
                  const SvmOptions& o, uint64_t seed, std::vector<float>& w, float& bias_w) {
  int64_t n = X.rows();
  const double diag = 0.5 / o.C;  // D_ii of the squared hinge dual
  std::vector<double> alpha(static_cast<size_t>(n), 0.0);
  std::vector<int64_t> active(static_cast<size_t>(n));
  std::iota(active.begin(), active.end(), int64_t(0));
  int64_t active_size = n;
  double pg_max_old = std::numeric_limits<double>::infinity(), pg_min_old = -pg_max_old;
  std::mt19937_64 rng(seed);
  bias_w = 0;
  for (int iter = 0; iter < o.max_iter; ++iter) {
    double pg_max = -std::numeric_limits<double>::infinity(), pg_min = -pg_max;
    std::shuffle(active.begin(), active.begin() + active_size, rng);
    for (int64_t s = 0; s < active_size; ++s) {
      int64_t i = active[size_t(s)];
      int64_t b = X.row_ptr[size_t(i)], nnz = X.row_ptr[size_t(i) + 1] - b;
      const int32_t* ids = X.ids.data() + b;
      const float* vals = X.values.data() + b;
      double yi = y[size_t(i)];
      double g = yi * dot(w, ids, vals, nnz, bias_w) - 1 + diag * alpha[size_t(i)];
      double pg = 0;
      if (alpha[size_t(i)] == 0) {
        if (g > pg_max_old) {  // shrink: stays at the bound
          std::swap(active[size_t(s)], active[size_t(active_size - 1)]);
          --active_size;
          --s;
          continue;
        }
        if (g < 0) pg = g;
      } else {
        pg = g;
      }
      pg_max = std::max(pg_max, pg);
      pg_min = std::min(pg_min, pg);
      if (std::fabs(pg) > 1e-12) {
        double old = alpha[size_t(i)];
        alpha[size_t(i)] = std::max(old - g / (sq_norms[size_t(i)] + 1 + diag), 0.0);
        float d = float((alpha[size_t(i)] - old) * yi);
        for (int64_t j = 0; j < nnz; ++j) w[size_t(ids[j])] += d * vals[j];
        bias_w += d;
      }
    }
    if (pg_max - pg_min <= o.tol) {
      if (active_size == n) break;
      active_size = n;  // converged on the shrunk set: verify on all rows
      pg_max_old = std::numeric_limits<double>::infinity();
      pg_min_old = -pg_max_old;
      continue;
    }
    pg_max_old = pg_max <= 0 ? std::numeric_limits<double>::infinity() : pg_max;
    pg_min_old = pg_min >= 0 ? -std::numeric_limits<double>::infinity() : pg_min;
  }
}

}  // namespace

void train_ovr_svm(const Csr& X, int64_t num_features, int k, const PositiveFn& positive, const SvmOptions& o,
                   std::vector<float>& weight, std::vector<float>& bias) {
  int64_t n = X.rows();
  std::vector<double> sq_norms(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = X.row_ptr[size_t(i)]; j < X.row_ptr[size_t(i) + 1]; ++j) {
      sq_norms[size_t(i)] += double(X.values[size_t(j)]) * X.values[size_t(j)];
    }
  }
  weight.assign(size_t(num_features) * size_t(k), 0.f);
  bias.assign(size_t(k), 0.f);
  // Under a launcher, rank r trains classes r, r + W, r + 2W, ... on the whole data, and the
  // weights are summed over the ranks (each class is non-zero on one rank only): the same model
  // as a single process, since every class has its own seed.
  dist::Group* group = dist::current();
  std::vector<int> mine;
  for (int c = group ? group->rank() : 0; c < k; c += group ? group->world_size() : 1) mine.push_back(c);
  const int num_mine = static_cast<int>(mine.size());
  std::atomic<int> next{0};
  auto work = [&]() {
    std::vector<float> w;
    std::vector<int8_t> y(static_cast<size_t>(n));
    for (int i; (i = next.fetch_add(1)) < num_mine;) {
      const int c = mine[size_t(i)];
      if (interrupted()) return;
      for (int64_t i = 0; i < n; ++i) y[size_t(i)] = positive(c, i) ? 1 : -1;
      w.assign(size_t(num_features), 0.f);
      float b = 0;
      solve_binary(X, sq_norms, y, o, o.seed * 1000003u + uint64_t(c), w, b);
      for (int64_t f = 0; f < num_features; ++f) weight[size_t(f) * size_t(k) + size_t(c)] = w[size_t(f)];
      bias[size_t(c)] = b;
      if (o.on_class_done) o.on_class_done();
    }
  };
  int threads = std::max(1, std::min(o.threads, std::max(1, num_mine)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  check_interrupted();
  if (group != nullptr) {
    for (std::vector<float>* v : {&weight, &bias}) {
      std::vector<torch::Tensor> t{torch::from_blob(v->data(), {static_cast<int64_t>(v->size())}, torch::kFloat)};
      group->allreduce_sum(t, "the one-vs-rest SVM weights of every class");
    }
  }
}

// Log loss of probabilities from scores * scale (softmax rows or per-label sigmoids).
static double scaled_log_loss(const eval::Matrix& scores, const ScoreTargets& t, double scale) {
  double total = 0;
  int64_t k = scores.cols;
  std::vector<double> z(static_cast<size_t>(k));
  for (int64_t i = 0; i < scores.rows; ++i) {
    const float* s = scores.row(i);
    if (t.sets == nullptr) {
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < k; ++c) m = std::max(m, scale * s[c]);
      double sum = 0;
      for (int64_t c = 0; c < k; ++c) sum += std::exp(scale * s[c] - m);
      total += std::log(sum) + m - scale * s[(*t.labels)[size_t(i)]];
    } else {
      const auto& set = (*t.sets)[size_t(i)];
      for (int64_t c = 0; c < k; ++c) {
        double a = scale * s[c];
        bool pos = std::find(set.begin(), set.end(), int(c)) != set.end();
        // -log sigmoid(a) = log(1 + e^-a); -log(1 - sigmoid(a)) = log(1 + e^a)
        double v = pos ? -a : a;
        total += v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
      }
    }
  }
  return total / double(scores.rows);
}

double fit_score_scale(const eval::Matrix& scores, const ScoreTargets& targets) {
  // Golden-section search of log(scale) in [log 0.05, log 200]: the log loss is unimodal in scale.
  double lo = std::log(0.05), hi = std::log(200.0);
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
  double fa = scaled_log_loss(scores, targets, std::exp(a)), fb = scaled_log_loss(scores, targets, std::exp(b));
  for (int it = 0; it < 40; ++it) {
    if (fa < fb) {
      hi = b, b = a, fb = fa;
      a = hi - phi * (hi - lo);
      fa = scaled_log_loss(scores, targets, std::exp(a));
    } else {
      lo = a, a = b, fa = fb;
      b = lo + phi * (hi - lo);
      fb = scaled_log_loss(scores, targets, std::exp(b));
    }
  }
  return std::exp((lo + hi) / 2);
}

}  // namespace nlpc::models::ngram
