#pragma once
// The process group of a job started by a launcher (torchrun, mpirun, Slurm, or the env:// variables
// set by hand; see nlpc/core/launch_env.h): PyTorch's own c10d ProcessGroupGloo over a TCPStore,
// as `torch.distributed.init_process_group("gloo", init_method="env://")` builds it. Without
// launcher variables there is no group and every helper here is a no-op for a single process.
//
// Every collective waits at most the group's timeout (train.dist_timeout_s, default 300 s). A rank
// that dies or stops answering makes the others throw RuntimeError naming the operation, what Gloo
// reported, and which ranks stopped without reporting; never a hang.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace nlpc::dist {

class Group {
 public:
  ~Group();
  int rank() const { return rank_; }
  int world_size() const { return world_; }
  bool is_main() const { return rank_ == 0; }

  // In place; one CPU contiguous tensor per call (Gloo reads several as copies of one buffer).
  // `what` names the operation in errors.
  void allreduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what);
  // The same, started on Gloo's threads; the returned function waits for it (at most the timeout)
  // and throws as allreduce_sum does. Every rank must start its collectives in the same order.
  std::function<void()> allreduce_sum_async(std::vector<torch::Tensor> tensors, const std::string& what);
  void broadcast(std::vector<torch::Tensor>& tensors, int root, const std::string& what);
  // The bytes of `root` on every rank.
  std::string broadcast_bytes(const std::string& bytes, int root, const std::string& what);
  void send_bytes(const std::string& bytes, int dst, int tag, const std::string& what);
  std::string recv_bytes(int src, int tag, const std::string& what);
  void barrier(const std::string& what);

 private:
  friend Group* init(std::chrono::seconds timeout);
  struct Impl;
  Group() = default;
  [[noreturn]] void fail(const std::string& what, const std::exception& e);
  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int world_ = 1;
};

// Joins the job's process group (once; later calls return the same group, whatever their
// timeout). nullptr when the process was not started by a launcher (world size 1).
Group* init(std::chrono::seconds timeout);
// The group init() made, or nullptr.
Group* current();
// True on rank 0 and in a single process.
bool is_main();

}  // namespace nlpc::dist
