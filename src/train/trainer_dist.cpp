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

#include "nlpc/core/fs.h"
#include "nlpc/dist/dist.h"
#include "trainer_impl.h"

namespace nlpc::train {
namespace {

// Gradients are reduced in buckets of about this many bytes (DDP's default bucket_cap_mb = 25).
constexpr int64_t kBucketBytes = 25 << 20;

}  // namespace

std::pair<size_t, size_t> local_range(size_t n, const dist::Group* group) {
  if (group == nullptr) return {0, n};
  const size_t w = static_cast<size_t>(group->world_size()), r = static_cast<size_t>(group->rank());
  return {n * r / w, n * (r + 1) / w};
}

bool Trainer::Impl::main_rank() const { return group == nullptr || group->is_main(); }

double Trainer::Impl::reduce_gradients(double local_loss) {
  torch::NoGradGuard no_grad;
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<torch::Tensor> ps = optimizer->parameters();
  // One small reduction first: the loss, and which parameters got a gradient on any rank (a rank
  // whose slice was empty, or a branch some batches skip, has none; like a single process, a
  // parameter without a gradient anywhere keeps none and the optimizer skips it).
  torch::Tensor head = torch::zeros({static_cast<int64_t>(ps.size()) + 1}, torch::kDouble);
  auto* h = head.data_ptr<double>();
  h[0] = local_loss;
  for (size_t i = 0; i < ps.size(); ++i) h[i + 1] = ps[i].grad().defined() ? 1.0 : 0.0;
  std::vector<torch::Tensor> t{head};
  group->allreduce_sum(t, "the loss reduction of update " + std::to_string(step + 1));
  std::vector<torch::Tensor> grads;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (h[i + 1] == 0) continue;
    torch::Tensor p = ps[i];
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  // Buckets of same-dtype gradients flattened into one buffer each.
  size_t begin = 0;
  while (begin < grads.size()) {
    size_t end = begin;
    int64_t bytes = 0;
    while (end < grads.size() && (end == begin || (bytes + grads[end].nbytes() <= kBucketBytes &&
                                                  grads[end].scalar_type() == grads[begin].scalar_type()))) {
      bytes += static_cast<int64_t>(grads[end].nbytes());
      ++end;
    }
    std::vector<torch::Tensor> flat_parts;
    for (size_t i = begin; i < end; ++i) flat_parts.push_back(grads[i].reshape({-1}));
    std::vector<torch::Tensor> bucket{torch::cat(flat_parts)};
    group->allreduce_sum(bucket, "the gradient reduction of update " + std::to_string(step + 1));
    int64_t off = 0;
    for (size_t i = begin; i < end; ++i) {
      const int64_t n = grads[i].numel();
      grads[i].copy_(bucket[0].narrow(0, off, n).view_as(grads[i]));
      off += n;
    }
    begin = end;
  }
  ++comm_updates;
  comm_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return h[0];
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
