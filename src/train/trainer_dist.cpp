// The Trainer under a launcher (nlpc/dist/dist.h): every global batch of the plan is split into
// one contiguous slice per rank, each rank's loss is weighted by its share of the batch, and the
// gradients are summed over the ranks, so that an update equals the single-process update on the
// whole batch (up to summation order). Validation is sharded when the evaluate callback allows it
// (each rank runs its share of the batches through predict_logits, which gathers the logits), else
// it runs on rank 0; either way rank 0's metrics are broadcast, so that every rank takes the same
// early-stopping and best-model decisions.
#include <chrono>
#include <filesystem>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

#include "nlpc/core/fs.h"
#include "nlpc/dist/dist.h"
#include "trainer_impl.h"

namespace nlpc::train {
namespace {


}  // namespace

std::pair<size_t, size_t> local_range(size_t n, const dist::Group* group) {
  if (group == nullptr) return {0, n};
  const size_t w = static_cast<size_t>(group->world_size()), r = static_cast<size_t>(group->rank());
  return {n * r / w, n * (r + 1) / w};
}

bool Trainer::Impl::main_rank() const { return group == nullptr || group->is_main(); }

// Gradients reduced while backward runs, as DDP's Reducer does: the trainable parameters are cut
// into buckets in reverse model order (the order backward produces their gradients; the first
// bucket small so that communication starts early); a post-hook on each parameter's gradient
// accumulator counts the gradients of the update's last backward, and a bucket whose gradients are
// all there is flattened and its allreduce started on Gloo's threads, buckets strictly in order so
// every rank starts the same collectives in the same order. finish() starts the buckets backward did
// not complete (a rank with an empty slice, a parameter without a gradient), reduces the loss and
// which parameters got a gradient on any rank, waits, and writes the sums back.
class Trainer::Impl::OverlappedReducer {
 public:
  OverlappedReducer(dist::Group& group, std::vector<torch::Tensor> params, int64_t bucket_bytes)
      : group_(group), params_(std::move(params)) {
    const int64_t first_cap = std::min<int64_t>(kFirstBucketBytes, bucket_bytes);
    bucket_of_.resize(params_.size());
    int64_t bytes = 0;
    for (size_t k = params_.size(); k-- > 0;) {
      const torch::Tensor& p = params_[k];
      const int64_t cap = buckets_.size() <= 1 ? first_cap : bucket_bytes;
      if (buckets_.empty() || bytes + static_cast<int64_t>(p.nbytes()) > cap ||
          p.scalar_type() != params_[buckets_.back().params.front()].scalar_type()) {
        buckets_.emplace_back();
        bytes = 0;
      }
      buckets_.back().params.push_back(k);
      bucket_of_[k] = buckets_.size() - 1;
      bytes += static_cast<int64_t>(p.nbytes());
    }
    for (size_t k = 0; k < params_.size(); ++k) {
      auto acc = torch::autograd::impl::grad_accumulator(params_[k]);
      hooks_.emplace_back(acc, acc->add_post_hook(std::make_unique<ReadyHook>(this, k)));
    }
  }
  ~OverlappedReducer() {
    for (auto& [acc, key] : hooks_) acc->del_post_hook(key);
  }
  size_t buckets() const { return buckets_.size(); }
  // Bucket reductions started while backward ran, and in all.
  int64_t started_in_backward() const { return in_backward_; }
  int64_t started() const { return started_; }

  // Before the update's last backward on this rank.
  void arm(int64_t update) {
    update_ = update;
    next_ = 0;
    for (auto& b : buckets_) {
      b.missing = static_cast<int64_t>(b.params.size());
      b.wait = nullptr;
    }
    armed_ = true;
  }

  // After it (or instead of it): the summed loss; the parameters' gradients hold the sums.
  double finish(double local_loss, int64_t update) {
    if (!armed_) arm(update);  // this rank ran no backward in the update's last micro-batch
    armed_ = false;
    while (next_ < buckets_.size()) start(next_++);
    torch::Tensor head = torch::zeros({static_cast<int64_t>(params_.size()) + 1}, torch::kDouble);
    auto* h = head.data_ptr<double>();
    h[0] = local_loss;
    for (size_t k = 0; k < params_.size(); ++k) h[k + 1] = params_[k].grad().defined() ? 1.0 : 0.0;
    std::vector<torch::Tensor> t{head};
    group_.allreduce_sum(t, "the loss reduction of update " + std::to_string(update_));
    torch::NoGradGuard no_grad;
    for (auto& b : buckets_) {
      b.wait();
      int64_t off = 0;
      for (size_t k : b.params) {
        torch::Tensor p = params_[k];
        const int64_t n = p.numel();
        // Like a single process: a parameter no rank produced a gradient for keeps none (the
        // optimizer skips it).
        if (h[k + 1] > 0) {
          if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
          p.mutable_grad().copy_(b.flat.narrow(0, off, n).view_as(p));
        }
        off += n;
      }
      b.flat = torch::Tensor();
    }
    return h[0];
  }

 private:
  static constexpr int64_t kFirstBucketBytes = 1 << 20;  // DDP's first_bucket_bytes_cap

  struct Bucket {
    std::vector<size_t> params;
    int64_t missing = 0;
    torch::Tensor flat;
    std::function<void()> wait;
  };
  struct ReadyHook : torch::autograd::FunctionPostHook {
    ReadyHook(OverlappedReducer* r, size_t k) : reducer(r), param(k) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list&) override {
      reducer->ready(param);
      return outputs;
    }
    OverlappedReducer* reducer;
    size_t param;
  };

  void ready(size_t k) {
    if (!armed_) return;  // an earlier micro-batch of the update: gradients only accumulate
    Bucket& b = buckets_[bucket_of_[k]];
    if (--b.missing > 0) return;
    while (next_ < buckets_.size() && buckets_[next_].missing <= 0) {
      ++in_backward_;
      start(next_++);
    }
  }

  void start(size_t i) {
    Bucket& b = buckets_[i];
    std::vector<torch::Tensor> parts;
    for (size_t k : b.params) {
      const torch::Tensor& p = params_[k];
      parts.push_back(p.grad().defined() ? p.grad().detach().reshape({-1}) : torch::zeros({p.numel()}, p.options()));
    }
    b.flat = torch::cat(parts);
    ++started_;
    b.wait = group_.allreduce_sum_async({b.flat}, "the gradient reduction of update " + std::to_string(update_) +
                                                       " (bucket " + std::to_string(i + 1) + " of " +
                                                       std::to_string(buckets_.size()) + ")");
  }

  dist::Group& group_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> hooks_;
  size_t next_ = 0;
  bool armed_ = false;
  int64_t in_backward_ = 0, started_ = 0;
  int64_t update_ = 0;
};

Trainer::Impl::~Impl() = default;

std::vector<torch::Tensor> Trainer::Impl::trainable_in_model_order() const {
  // The optimizer's list puts decayed weights before biases and norms; the buckets need the model's
  // order, which backward follows in reverse.
  std::vector<torch::Tensor> out;
  for (const auto& [name, p] : params) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

std::string Trainer::Impl::reduction_summary() const {
  if (!reducer) return "";
  return std::to_string(reducer->buckets()) + " bucket(s), " + std::to_string(reducer->started_in_backward()) + " of " +
         std::to_string(reducer->started()) + " reductions started during backward";
}

void Trainer::Impl::arm_reduction() {
  if (group == nullptr) return;
  if (!reducer) reducer = std::make_unique<OverlappedReducer>(*group, trainable_in_model_order(), opts.dist_bucket_bytes);
  reducer->arm(step + 1);
}

double Trainer::Impl::reduce_gradients(double local_loss) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!reducer) reducer = std::make_unique<OverlappedReducer>(*group, trainable_in_model_order(), opts.dist_bucket_bytes);
  const double loss = reducer->finish(local_loss, step + 1);
  ++comm_updates;
  comm_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return loss;
}

void Trainer::Impl::broadcast_parameters() {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> ts;
  for (auto& [name, p] : params) ts.push_back(p);
  for (auto& [name, b] : model.named_buffers()) ts.push_back(b);
  for (auto& t : ts) {
    std::vector<torch::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
    group->broadcast(one, 0, "the initial parameters from rank 0");
    if (!one[0].is_same(t)) t.copy_(one[0]);
  }
}

MetricMap Trainer::Impl::shared_metrics(const std::function<MetricMap()>& compute) {
  if (group == nullptr) return compute();
  nlohmann::json j = nlohmann::json::object();
  if (cb.shard_evaluation) {
    // Every rank computes (on its share of the batches); rank 0's metrics are still the ones used.
    ShardedEvaluation scope(group);
    for (const auto& [k, v] : compute()) j[k] = v;  // non-finite values become null
  } else if (group->is_main()) {
    for (const auto& [k, v] : compute()) j[k] = v;
  }
  const std::string text = group->broadcast_bytes(group->is_main() ? j.dump() : "", 0,
                                                  "the validation metrics of update " + std::to_string(step));
  MetricMap m;
  const nlohmann::json parsed = nlohmann::json::parse(text);
  for (const auto& [k, v] : parsed.items()) {
    m[k] = v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
  }
  return m;
}

void Trainer::Impl::share_resume_state() {
  // Rank 0 reads its run's resume state and best parameters; the other ranks write them into their
  // own checkpoint folder, so that every rank then loads the same state.
  for (const std::string& path : {state_path(), best_path()}) {
    const bool here = group->is_main() && !path.empty() && file_exists(path);
    const std::string bytes = group->broadcast_bytes(here ? read_file(path) : "", 0, "the resume state " + path);
    if (!group->is_main() && !bytes.empty() && !path.empty()) {
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      write_file_atomic(path, bytes);
    }
  }
}

}  // namespace nlpc::train
