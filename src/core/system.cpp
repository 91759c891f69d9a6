#include "nlpc/core/system.h"

#include <algorithm>

#include "nlpc/core/launch_env.h"

#include <dlfcn.h>
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include <torch/version.h>

#include "nlpc/core/version.h"

namespace nlpc {
namespace {
int g_threads = 0;

using openblas_config_fn = char* (*)();
using openblas_set_threads_fn = void (*)(int);
using openblas_get_threads_fn = int (*)();
// at::set_num_threads(int), looked up at run time: src/core links without libtorch, because the nlpc
// executable loads libtorch only after its command line has parsed (commands/module_api.h).
using at_set_threads_fn = void (*)(int);
constexpr const char* kAtSetNumThreads = "_ZN2at15set_num_threadsEi";

template <typename F>
F find_symbol(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

int64_t read_status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string k(key);
  while (std::getline(f, line)) {
    if (line.compare(0, k.size(), k) == 0) {
      return std::atoll(line.c_str() + k.size() + 1);
    }
  }
  return 0;
}
}  // namespace

std::string nlpc_version() { return NLPC_VERSION; }

std::string libtorch_version() { return TORCH_VERSION; }

bool blas_is_optimized() { return find_symbol<openblas_config_fn>("openblas_get_config") != nullptr; }

std::string blas_description() {
  auto cfg = find_symbol<openblas_config_fn>("openblas_get_config");
  if (cfg == nullptr) {
    return "reference BLAS (slow: install libopenblas0-pthread)";
  }
  std::string s = std::string("OpenBLAS (") + cfg() + ")";
  auto get = find_symbol<openblas_get_threads_fn>("openblas_get_num_threads");
  if (get != nullptr) s += ", " + std::to_string(get()) + " BLAS threads";
  return s;
}

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void set_num_threads(int n) {
  // all cores, shared by the ranks a launcher started on this machine
  if (n <= 0) n = std::max(1, hardware_threads() / launch_env().local_world_size);
  g_threads = n;
  // Not found before libtorch is loaded: the nlpc executable calls this again once it has loaded it.
  auto at_set = find_symbol<at_set_threads_fn>(kAtSetNumThreads);
  if (at_set != nullptr) at_set(n);
  auto set = find_symbol<openblas_set_threads_fn>("openblas_set_num_threads");
  if (set != nullptr) set(n);
}

int num_threads() { return g_threads > 0 ? g_threads : hardware_threads(); }

namespace {
std::mutex g_blas_mutex;
int g_blas_depth = 0;
int g_blas_saved = 0;

openblas_set_threads_fn blas_set() {
  static const auto fn = find_symbol<openblas_set_threads_fn>("openblas_set_num_threads");
  return fn;
}
openblas_get_threads_fn blas_get() {
  static const auto fn = find_symbol<openblas_get_threads_fn>("openblas_get_num_threads");
  return fn;
}
}  // namespace

bool blas_threads_controllable() { return blas_set() != nullptr && blas_get() != nullptr; }

BlasThreadsScope::BlasThreadsScope(int n) {
  if (!blas_threads_controllable()) return;
  std::lock_guard<std::mutex> lock(g_blas_mutex);
  if (g_blas_depth++ == 0) {
    g_blas_saved = blas_get()();
    if (g_blas_saved != n) blas_set()(n);
  }
  active_ = true;
}

BlasThreadsScope::~BlasThreadsScope() {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(g_blas_mutex);
  if (--g_blas_depth == 0 && blas_get()() != g_blas_saved) blas_set()(g_blas_saved);
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

std::string user_name() {
  if (const char* u = std::getenv("USER")) return u;
  if (struct passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "unknown";
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t peak_rss_bytes() { return read_status_kb("VmHWM:") * 1024; }
int64_t current_rss_bytes() { return read_status_kb("VmRSS:") * 1024; }

}  // namespace nlpc
