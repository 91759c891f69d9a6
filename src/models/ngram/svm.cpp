// One-vs-rest L2-regularised squared-hinge linear SVMs trained by dual coordinate descent with
// shrinking (Hsieh et al., ICML 2008; the solver of LIBLINEAR and scikit-learn's LinearSVC), and a
// one-parameter score calibration for probabilities. Classes are independent: they are solved in
// groups of 16 that share each read of a row, the groups in parallel, and the result does not
// depend on the number of threads. The rows come from a RowStore (memory or a scratch file).
#include "svm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

#include <sys/mman.h>
#include <unistd.h>

#include "nlpc/core/error.h"
#include "nlpc/core/signals.h"
#include "nlpc/dist/dist.h"

namespace nlpc::models::ngram {

namespace {

constexpr float kShrunk = -1.0f;  // the dual variable of a shrunk row (alpha = 0, left out until the check)

// The rows of a batch: several blocks of the store picked at random, decoded together.
struct Batch {
  Csr x;
  std::vector<int64_t> row;  // the global row of each batch row
  std::vector<float> sq_norms;
  std::vector<float> alpha;  // [rows x width]: the dual variables of this rank's problems
};

// Anonymous memory that can be given back to the system piece by piece (MADV_DONTNEED).
class PagedFloats {
 public:
  explicit PagedFloats(size_t n) : bytes_(std::max<size_t>(n, 1) * sizeof(float)) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw RuntimeError("n-gram svm: cannot allocate " + std::to_string(bytes_ >> 20) + " MiB of weights");
    data_ = static_cast<float*>(p);  // zero-filled
  }
  ~PagedFloats() { ::munmap(data_, bytes_); }
  PagedFloats(const PagedFloats&) = delete;
  PagedFloats& operator=(const PagedFloats&) = delete;
  float* data() { return data_; }
  // Gives back the whole pages inside [begin, end) (floats); they read as zeros afterwards.
  void release(size_t begin, size_t end) {
    const size_t page = size_t(::sysconf(_SC_PAGESIZE));
    size_t b = (begin * sizeof(float) + page - 1) / page * page, e = end * sizeof(float) / page * page;
    if (e > b) ::madvise(reinterpret_cast<char*>(data_) + b, e - b, MADV_DONTNEED);
  }

 private:
  size_t bytes_;
  float* data_ = nullptr;
};

// kLanes binary problems (one class each against the rest) solved together: their weights are
// interleaved per feature ([F x kLanes]), so one pass over a row's non-zeros computes all their
// scores, and one more updates all of them. The rows are visited in one random order (the group's);
// each lane has its own dual variables, shrinking and stopping test, exactly as a problem alone.
constexpr int kLanes = 16;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NLPC_LANES_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NLPC_LANES_CLONES
#endif
// The 16 lanes as one generic vector (GCC/Clang lower it to the widest registers the target has).
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

struct ClassGroup {
  int lanes = 0;         // classes in this group (the other lanes stay zero)
  int cls[kLanes] = {};  // class of each lane
  int slot = 0;          // column of lane 0 in the batches' alpha
  float* w = nullptr;    // [F x kLanes]
  float bias_w[kLanes] = {};
  std::mt19937_64 rng;
  double pg_max_old[kLanes], pg_min_old[kLanes], pg_max[kLanes], pg_min[kLanes];
  int64_t shrunk[kLanes] = {};
  bool unshrink[kLanes] = {}, done[kLanes] = {};
  int passes[kLanes] = {};

  ClassGroup() {
    for (int l = 0; l < kLanes; ++l) {
      pg_max_old[l] = std::numeric_limits<double>::infinity();
      pg_min_old[l] = -pg_max_old[l];
    }
  }
  bool active(int l) const { return l < lanes && !done[l]; }
  bool any_active() const {
    for (int l = 0; l < lanes; ++l) {
      if (!done[l]) return true;
    }
    return false;
  }
  void start_pass() {
    for (int l = 0; l < kLanes; ++l) {
      pg_max[l] = -std::numeric_limits<double>::infinity();
      pg_min[l] = std::numeric_limits<double>::infinity();
      shrunk[l] = 0;
    }
  }

  // One sweep over the rows of a batch, in a random order. Compiled for AVX-512 and AVX2 too (the
  // widest that the CPU has is picked at load time): the lanes' loops are most of training.
  NLPC_LANES_CLONES void sweep(Batch& batch, int width, const PositiveFn& positive, double diag,
                               std::vector<int64_t>& order) {
    const Csr& X = batch.x;
    const int64_t n = X.rows();
    order.resize(size_t(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::shuffle(order.begin(), order.end(), rng);
    for (const int64_t i : order) {
      float* alpha = batch.alpha.data() + size_t(i) * size_t(width) + size_t(slot);
      bool work[kLanes] = {};
      bool any = false;
      for (int l = 0; l < lanes; ++l) {
        if (done[l]) continue;
        if (alpha[l] < 0 && !unshrink[l]) {
          ++shrunk[l];
          continue;
        }
        work[l] = any = true;
      }
      if (!any) continue;
      const int64_t b = X.row_ptr[size_t(i)], nnz = X.row_ptr[size_t(i) + 1] - b;
      const int32_t* ids = X.ids.data() + b;
      const float* vals = X.values.data() + b;
      Lanes score;
      std::memcpy(&score, bias_w, sizeof score);  // the bias: a feature of constant value 1
      const Lanes* wl = reinterpret_cast<const Lanes*>(w);
      for (int64_t j = 0; j < nnz; ++j) score += vals[j] * wl[ids[j]];
      Lanes dv = {};
      float* d = reinterpret_cast<float*>(&dv);
      bool update = false;
      const double q = double(batch.sq_norms[size_t(i)]) + 1 + diag;
      for (int l = 0; l < lanes; ++l) {
        if (!work[l]) continue;
        const double a = alpha[l] < 0 ? 0.0 : double(alpha[l]);
        alpha[l] = float(a);
        const double yi = positive(cls[l], batch.row[size_t(i)]) ? 1.0 : -1.0;
        const double g = yi * score[l] - 1 + diag * a;
        double pg = 0;
        if (a == 0) {
          if (g > pg_max_old[l]) {  // shrink: stays at the bound
            alpha[l] = kShrunk;
            ++shrunk[l];
            continue;
          }
          if (g < 0) pg = g;
        } else {
          pg = g;
        }
        pg_max[l] = std::max(pg_max[l], pg);
        pg_min[l] = std::min(pg_min[l], pg);
        if (std::fabs(pg) > 1e-12) {
          alpha[l] = float(std::max(a - g / q, 0.0));
          d[l] = float((double(alpha[l]) - a) * yi);
          update = update || d[l] != 0;
        }
      }
      if (!update) continue;
      Lanes* wm = reinterpret_cast<Lanes*>(w);
      for (int64_t j = 0; j < nnz; ++j) wm[ids[j]] += vals[j] * dv;
      for (int l = 0; l < kLanes; ++l) bias_w[l] += d[l];
    }
  }

  // After a pass over all rows: per lane, converged, or the shrinking thresholds of the next pass.
  // Calls done_fn for each class that converged.
  template <typename DoneFn>
  void end_pass(double tol, DoneFn done_fn) {
    for (int l = 0; l < lanes; ++l) {
      if (done[l]) continue;
      ++passes[l];
      if (pg_max[l] - pg_min[l] <= tol) {
        if (shrunk[l] == 0) {
          done[l] = true;
          done_fn();
          continue;
        }
        unshrink[l] = true;  // converged on the shrunk rows: check on all rows
        pg_max_old[l] = std::numeric_limits<double>::infinity();
        pg_min_old[l] = -pg_max_old[l];
        continue;
      }
      unshrink[l] = false;
      pg_max_old[l] = pg_max[l] <= 0 ? std::numeric_limits<double>::infinity() : pg_max[l];
      pg_min_old[l] = pg_min[l] >= 0 ? -std::numeric_limits<double>::infinity() : pg_min[l];
    }
  }
};

// The groups of classes this rank solves: groups r, r + W, ... of kLanes classes each (0-15,
// 16-31, ...); `mine` gets their classes, group by group (a class's column in the duals).
std::vector<ClassGroup> make_groups(int k, int rank, int world, uint64_t seed, std::vector<int>& mine) {
  std::vector<ClassGroup> groups;
  for (int g = rank; g * kLanes < k; g += world) {
    ClassGroup grp;
    grp.slot = int(mine.size());
    grp.lanes = std::min(kLanes, k - g * kLanes);
    for (int l = 0; l < grp.lanes; ++l) {
      grp.cls[l] = g * kLanes + l;
      mine.push_back(grp.cls[l]);
    }
    grp.rng.seed(seed * 1000003u + uint64_t(g));
    groups.push_back(grp);
  }
  return groups;
}

// The dual variables of this rank's classes (a SlabStore scratch file, [rows x width] per block)
// and, per block and class, how many of the block's rows the class has not shrunk.
class Duals {
 public:
  Duals(const RowStore& X, const std::string& path, int width)
      : X_(X),
        blocks_(X.blocks()),
        width_(width),
        store_(path, blocks_, width),
        live_(blocks_.size() * size_t(width)) {
    for (size_t b = 0; b < blocks_.size(); ++b) {
      for (int i = 0; i < width; ++i) live_[b * size_t(width) + size_t(i)] = blocks_[b].rows;
    }
  }

  // Whether lane l of `grp` has rows to visit in block b.
  bool needs(const ClassGroup& grp, int l, size_t b) const {
    return grp.active(l) && (grp.unshrink[l] || live_[b * size_t(width_) + size_t(grp.slot + l)] > 0);
  }

  // The batch of `group_blocks`: their duals (of blocks nobody needs, kShrunk), the global rows,
  // and the features and squared norms of the rows some group in `todo` still visits (the others
  // stay empty rows).
  void load(const std::vector<size_t>& group_blocks, const std::vector<char>& loaded,
            const std::vector<ClassGroup*>& todo, Batch& batch) {
    int64_t rows = 0;
    for (const size_t b : group_blocks) rows += blocks_[b].rows;
    batch.alpha.resize(size_t(rows) * size_t(width_));
    batch.row.clear();
    int64_t at = 0;
    for (size_t i = 0; i < group_blocks.size(); ++i) {
      const size_t b = group_blocks[i];
      float* a = batch.alpha.data() + size_t(at) * size_t(width_);
      if (loaded[i]) {
        store_.load(b, a);
      } else {
        std::fill(a, a + size_t(blocks_[b].rows) * size_t(width_), kShrunk);  // nobody's rows
      }
      for (int64_t r = 0; r < blocks_[b].rows; ++r) batch.row.push_back(blocks_[b].first_row + r);
      at += blocks_[b].rows;
    }
    need_.assign(size_t(rows), 0);
    for (int64_t r = 0; r < rows; ++r) {
      const float* a = batch.alpha.data() + size_t(r) * size_t(width_);
      bool needed = false;
      for (auto* grp : todo) {
        for (int l = 0; l < grp->lanes && !needed; ++l) {
          needed = grp->active(l) && (grp->unshrink[l] || a[grp->slot + l] >= 0);
        }
      }
      need_[size_t(r)] = char(needed);
    }
    batch.x = Csr();
    at = 0;
    for (size_t i = 0; i < group_blocks.size(); ++i) {
      const size_t b = group_blocks[i];
      if (loaded[i]) {
        X_.append_rows(b, need_.data() + at, batch.x, raw_);
      } else {
        batch.x.row_ptr.insert(batch.x.row_ptr.end(), size_t(blocks_[b].rows), batch.x.row_ptr.back());
      }
      at += blocks_[b].rows;
    }
    batch.sq_norms.assign(size_t(rows), 0.f);
    for (int64_t i = 0; i < rows; ++i) {
      double s = 0;
      for (int64_t j = batch.x.row_ptr[size_t(i)]; j < batch.x.row_ptr[size_t(i) + 1]; ++j) {
        s += double(batch.x.values[size_t(j)]) * batch.x.values[size_t(j)];
      }
      batch.sq_norms[size_t(i)] = float(s);
    }
  }

  // Writes the batch's duals back and recounts each class's unshrunk rows per block.
  void store(const std::vector<size_t>& group_blocks, const std::vector<char>& loaded, const Batch& batch) {
    int64_t at = 0;
    for (size_t i = 0; i < group_blocks.size(); ++i) {
      const size_t b = group_blocks[i];
      const float* a = batch.alpha.data() + size_t(at) * size_t(width_);
      at += blocks_[b].rows;
      if (!loaded[i]) continue;
      store_.store(b, a);
      for (int s = 0; s < width_; ++s) {
        int64_t n_live = 0;
        for (int64_t r = 0; r < blocks_[b].rows; ++r)
          n_live += a[size_t(r) * size_t(width_) + size_t(s)] >= 0;
        live_[b * size_t(width_) + size_t(s)] = n_live;
      }
    }
  }

 private:
  const RowStore& X_;
  const std::vector<RowStore::Block>& blocks_;
  int width_;
  SlabStore store_;
  std::vector<int64_t> live_;
  std::vector<char> need_;
  std::vector<uint8_t> raw_;
};

// The groups of `todo` sweep the batch, `threads` groups at a time.
void sweep_groups(const std::vector<ClassGroup*>& todo, Batch& batch, int width, const PositiveFn& positive,
                  double diag, std::vector<std::vector<int64_t>>& orders) {
  std::atomic<size_t> next{0};
  auto work = [&](int t) {
    for (size_t i; (i = next.fetch_add(1)) < todo.size();) {
      if (interrupted()) return;
      todo[i]->sweep(batch, width, positive, diag, orders[size_t(t)]);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(int(orders.size()), int(todo.size())); ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  check_interrupted();
}

// The [F x k] weights and the biases of every class from the groups (zero for other ranks'
// classes), written feature by feature while the groups' pages are given back, so that the two
// copies do not both sit in memory.
void gather_weights(std::vector<ClassGroup>& groups, PagedFloats& w_all, int64_t num_features, int k,
                    const SvmOptions& o, std::vector<float>& weight, std::vector<float>& bias) {
  const size_t num_groups = groups.size();
  weight.clear();
  weight.shrink_to_fit();
  weight.reserve(size_t(num_features) * size_t(k));
  std::vector<int> group_of(size_t(k), -1), lane_of(size_t(k), 0);
  for (size_t g = 0; g < num_groups; ++g) {
    for (int l = 0; l < groups[g].lanes; ++l) {
      group_of[size_t(groups[g].cls[l])] = int(g);
      lane_of[size_t(groups[g].cls[l])] = l;
    }
  }
  const int64_t step = 16384;
  for (int64_t f0 = 0; f0 < num_features; f0 += step) {
    const int64_t f1 = std::min(num_features, f0 + step);
    for (int64_t f = f0; f < f1; ++f) {
      for (int c = 0; c < k; ++c) {
        const int g = group_of[size_t(c)];
        weight.push_back(g < 0 ? 0.f : groups[size_t(g)].w[size_t(f) * kLanes + size_t(lane_of[size_t(c)])]);
      }
    }
    for (size_t g = 0; g < num_groups; ++g) {
      const size_t base = g * size_t(num_features) * kLanes;
      w_all.release(base + size_t(f0) * kLanes, base + size_t(f1) * kLanes);
    }
  }
  bias.assign(size_t(k), 0.f);
  for (auto& grp : groups) {
    for (int l = 0; l < grp.lanes; ++l) {
      bias[size_t(grp.cls[l])] = grp.bias_w[l];
      if (!grp.done[l] && o.on_class_done) o.on_class_done();
    }
  }
}

}  // namespace

void train_ovr_svm(const RowStore& X, const std::string& state_path, int64_t num_features, int k,
                   const PositiveFn& positive, const SvmOptions& o, std::vector<float>& weight,
                   std::vector<float>& bias) {
  // Classes are solved in fixed groups of kLanes (0-15, 16-31, ...). Under a launcher, rank r
  // solves groups r, r + W, ... on the whole data and the weights are summed over the ranks (each
  // class is non-zero on one rank only). A group's descent depends on its own classes only (its
  // seed, the pass's block order, the batches), so the model is the same for any world size and
  // any number of threads.
  dist::Group* dist_group = dist::current();
  const int rank = dist_group ? dist_group->rank() : 0, world = dist_group ? dist_group->world_size() : 1;
  std::vector<int> mine;
  std::vector<ClassGroup> groups = make_groups(k, rank, world, o.seed, mine);
  const size_t num_groups = groups.size();
  const int width = std::max(1, static_cast<int>(mine.size()));
  PagedFloats w_all(num_groups * size_t(num_features) * kLanes);
  for (size_t g = 0; g < num_groups; ++g) groups[g].w = w_all.data() + g * size_t(num_features) * kLanes;
  const double diag = 0.5 / o.C;  // D_ii of the squared hinge dual
  const auto& blocks = X.blocks();
  // A block that no active class here needs is not read; a group with nothing to do in a batch skips it.
  Duals duals(X, state_path, width);
  // Every pass reads the blocks in a new random order, a batch of them at a time, and visits
  // the rows of a batch in a random order: rows of far-apart blocks mix, as in one random
  // permutation of all rows (fixed contiguous blocks make the descent crawl).
  std::mt19937_64 block_rng(o.seed ^ 0x5eed5eedULL);
  Batch batch;
  std::vector<char> loaded;
  const int threads = std::max(1, std::min<int>(o.threads, int(std::max<size_t>(1, num_groups))));
  std::vector<std::vector<int64_t>> orders(static_cast<size_t>(threads));
  std::vector<size_t> order(blocks.size());
  for (int pass = 0; pass < o.max_iter; ++pass) {
    std::vector<ClassGroup*> active;
    for (auto& grp : groups) {
      if (grp.any_active()) active.push_back(&grp);
    }
    if (active.empty()) break;
    for (auto* grp : active) grp->start_pass();
    std::iota(order.begin(), order.end(), size_t(0));
    std::shuffle(order.begin(), order.end(), block_rng);
    for (const auto& group_blocks : batches_of(X, order, o.batch_bytes)) {
      // Which groups have work in this batch, and which blocks someone needs.
      std::vector<ClassGroup*> todo;
      loaded.assign(group_blocks.size(), 0);
      for (auto* grp : active) {
        bool any = false;
        for (size_t i = 0; i < group_blocks.size(); ++i) {
          for (int l = 0; l < grp->lanes; ++l) {
            if (duals.needs(*grp, l, group_blocks[i])) any = loaded[i] = 1;
          }
        }
        if (any) todo.push_back(grp);
      }
      int64_t rows = 0;
      for (const size_t b : group_blocks) rows += blocks[b].rows;
      for (auto* grp : active) {
        if (std::find(todo.begin(), todo.end(), grp) != todo.end()) continue;
        for (int l = 0; l < grp->lanes; ++l) grp->shrunk[l] += rows;  // all shrunk here
      }
      if (todo.empty()) continue;
      duals.load(group_blocks, loaded, todo, batch);
      sweep_groups(todo, batch, width, positive, diag, orders);
      duals.store(group_blocks, loaded, batch);
    }
    for (auto* grp : active) {
      grp->end_pass(o.tol, [&] {
        if (o.on_class_done) o.on_class_done();
      });
    }
  }
  gather_weights(groups, w_all, num_features, k, o, weight, bias);
  if (dist_group != nullptr) {
    for (std::vector<float>* v : {&weight, &bias}) {
      std::vector<torch::Tensor> t{
          torch::from_blob(v->data(), {static_cast<int64_t>(v->size())}, torch::kFloat)};
      dist_group->allreduce_sum(t, "the one-vs-rest SVM weights of every class");
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
  double fa = scaled_log_loss(scores, targets, std::exp(a)),
         fb = scaled_log_loss(scores, targets, std::exp(b));
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
