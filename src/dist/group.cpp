// ProcessGroupGloo over a TCPStore from the env:// variables (nlpc/core/launch_env.h).
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <thread>
#include <unistd.h>

#include "nlpc/core/error.h"
#include "nlpc/core/launch_env.h"
#include "nlpc/core/log.h"
#include "nlpc/core/system.h"
#include "nlpc/dist/dist.h"

namespace nlpc::dist {

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::chrono::seconds timeout{300};
  std::string endpoint;  // MASTER_ADDR:MASTER_PORT
};

namespace {

std::unique_ptr<Group> g_group;
bool g_initialised = false;

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

std::shared_ptr<gloo::transport::Device> gloo_device(const LaunchEnv& env) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0') {
    std::string first = ifname;
    first = first.substr(0, first.find(','));
    return c10d::ProcessGroupGloo::createDeviceForInterface(first);
  }
  if (is_loopback(env.master_addr) && env.local_world_size == env.world_size) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

void wait(const c10::intrusive_ptr<c10d::Work>& work, std::chrono::seconds timeout) {
  if (!work->wait(std::chrono::duration_cast<std::chrono::milliseconds>(timeout))) {
    throw std::runtime_error("timed out after " + std::to_string(timeout.count()) + " s");
  }
}

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

std::string key_of(const char* what, int rank) { return std::string("nlpc/") + what + "/" + std::to_string(rank); }

}  // namespace

Group::~Group() = default;

Group* init(std::chrono::seconds timeout) {
  if (g_initialised) return g_group.get();
  g_initialised = true;
  const LaunchEnv& env = launch_env();
  if (!env.distributed()) return nullptr;
  auto group = std::unique_ptr<Group>(new Group());
  group->rank_ = env.rank;
  group->world_ = env.world_size;
  group->impl_ = std::make_unique<Group::Impl>();
  Group::Impl& impl = *group->impl_;
  impl.timeout = timeout;
  impl.endpoint = env.master_addr + ":" + std::to_string(env.master_port);
  spdlog::info("distributed: rank {} of {} (local {} of {}, {}), rendezvous at {}{}", env.rank, env.world_size,
               env.local_rank, env.local_world_size, env.source, impl.endpoint,
               env.agent_store ? " (the launcher's store)" : "");
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.master_port);
    so.isServer = env.rank == 0 && !env.agent_store;
    so.numWorkers = env.world_size;
    so.waitWorkers = false;
    so.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    // torch.distributed's env:// rendezvous prefixes the launcher's store with the restart attempt
    impl.store = env.agent_store ? c10::intrusive_ptr<c10d::Store>(c10::make_intrusive<c10d::PrefixStore>(
                                       "/worker/attempt_" + std::to_string(env.restart_count), tcp))
                                 : c10::intrusive_ptr<c10d::Store>(tcp);
    auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
    opts->devices.push_back(gloo_device(env));
    impl.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("nlpc", impl.store), env.rank, env.world_size, opts);
    impl.store->set(key_of("pid", env.rank), bytes_of(host_name() + ":" + std::to_string(getpid())));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw RuntimeError("distributed: rank " + std::to_string(env.rank) + " could not join the job at " +
                       impl.endpoint + " within " + std::to_string(timeout.count()) + " s (" + e.what() +
                       "); check MASTER_ADDR/MASTER_PORT and that every rank was started");
  }
  g_group = std::move(group);
  return g_group.get();
}

Group* current() { return g_group.get(); }
bool is_main() { return g_group == nullptr || g_group->is_main(); }

void Group::fail(const std::string& what, const std::exception& e) {
  // Tell the others this rank saw the failure, give the survivors a moment to do the same, and
  // name the ranks that said nothing: those died or hang.
  std::string silent;
  try {
    impl_->store->set(key_of("failed", rank_), bytes_of(e.what()));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (int r = 0; r < world_; ++r) {
      if (r == rank_ || impl_->store->check({key_of("failed", r)})) continue;
      std::string who = "?";
      try {
        const auto v = impl_->store->get(key_of("pid", r));
        who = std::string(v.begin(), v.end());
      } catch (const std::exception&) {
      }
      silent += (silent.empty() ? "" : ", ") + std::to_string(r) + " (" + who + ")";
    }
    silent = silent.empty() ? "" : "; rank(s) " + silent + " stopped without reporting (killed, crashed or hung)";
  } catch (const std::exception&) {
    silent = "; the rendezvous store at " + impl_->endpoint + " is gone too, so rank 0 (its host) has stopped";
  }
  throw RuntimeError("distributed: rank " + std::to_string(rank_) + " of " + std::to_string(world_) + ": " + what +
                     " failed: " + e.what() + silent + " (every collective waits at most " +
                     std::to_string(impl_->timeout.count()) + " s: train.dist_timeout_s)");
}

void Group::allreduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what) {
  try {
    wait(impl_->pg->allreduce(tensors), impl_->timeout);
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

std::function<void()> Group::allreduce_sum_async(std::vector<torch::Tensor> tensors, const std::string& what) {
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = impl_->pg->allreduce(tensors);
  } catch (const std::exception& e) {
    fail(what, e);
  }
  return [this, work, what] {
    try {
      wait(work, impl_->timeout);
    } catch (const std::exception& e) {
      fail(what, e);
    }
  };
}

void Group::broadcast(std::vector<torch::Tensor>& tensors, int root, const std::string& what) {
  try {
    c10d::BroadcastOptions o;
    o.rootRank = root;
    wait(impl_->pg->broadcast(tensors, o), impl_->timeout);
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

std::string Group::broadcast_bytes(const std::string& bytes, int root, const std::string& what) {
  std::vector<torch::Tensor> n{torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64)};
  broadcast(n, root, what);
  const int64_t size = n[0].item<int64_t>();
  std::vector<torch::Tensor> data{rank_ == root ? torch::from_blob(const_cast<char*>(bytes.data()), {size}, torch::kUInt8).clone()
                                                : torch::empty({size}, torch::kUInt8)};
  if (size > 0) broadcast(data, root, what);
  return std::string(reinterpret_cast<const char*>(data[0].data_ptr<uint8_t>()), static_cast<size_t>(size));
}

void Group::send_bytes(const std::string& bytes, int dst, int tag, const std::string& what) {
  try {
    std::vector<torch::Tensor> n{torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64)};
    wait(impl_->pg->send(n, dst, tag), impl_->timeout);
    if (!bytes.empty()) {
      std::vector<torch::Tensor> data{
          torch::from_blob(const_cast<char*>(bytes.data()), {static_cast<int64_t>(bytes.size())}, torch::kUInt8)};
      wait(impl_->pg->send(data, dst, tag), impl_->timeout);
    }
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

std::string Group::recv_bytes(int src, int tag, const std::string& what) {
  try {
    std::vector<torch::Tensor> n{torch::empty({1}, torch::kInt64)};
    wait(impl_->pg->recv(n, src, tag), impl_->timeout);
    const int64_t size = n[0].item<int64_t>();
    if (size == 0) return "";
    std::vector<torch::Tensor> data{torch::empty({size}, torch::kUInt8)};
    wait(impl_->pg->recv(data, src, tag), impl_->timeout);
    return std::string(reinterpret_cast<const char*>(data[0].data_ptr<uint8_t>()), static_cast<size_t>(size));
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

void Group::barrier(const std::string& what) {
  try {
    wait(impl_->pg->barrier(), impl_->timeout);
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

}  // namespace nlpc::dist
