// Loading libnlpc_torch.so, the libtorch half of nlpc (include/nlpc/commands/module_api.h).
#include "module.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "commands.h"
#include "nlpc/core/error.h"
#include "nlpc/core/system.h"

namespace nlpc::cli {
namespace {
// NLPC_TORCH_MODULE; else next to the executable (the build folder); else ../lib/nlpc/ from it (as
// `cmake --install` lays it out).
std::string module_path() {
  if (const char* env = std::getenv("NLPC_TORCH_MODULE"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto dir = ec ? std::filesystem::path(".") : exe.parent_path();
  const auto beside = dir / "libnlpc_torch.so";
  const auto installed = dir.parent_path() / "lib" / "nlpc" / "libnlpc_torch.so";
  if (!std::filesystem::exists(beside, ec) && std::filesystem::exists(installed, ec)) return installed.string();
  return beside.string();
}

const commands::ModuleApi* load() {
  const std::string path = module_path();
  // libtorch's intra-op threads are OpenMP (libgomp) threads, which by default spin for a while
  // after every parallel region, on the cores OpenBLAS's threads need next: on 2 cores, training
  // T5-tiny ran at 86 samples/s with the default, 203 with --threads 1 and 227 with passive waiting
  // (BERT-mini: 42, 44, 57; docs/benchmarks.md, scripts/bench/train_threads.sh). libgomp reads the
  // policy when it loads, hence here, before dlopen; a value set by the user wins.
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  // RTLD_GLOBAL: libtorch's symbols become visible to dlsym(RTLD_DEFAULT), which core/system.cpp
  // uses to set libtorch's and OpenBLAS's threads.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw RuntimeError("cannot load " + path + " (the libtorch half of nlpc, which must sit next to the nlpc " +
                       "executable): " + (why != nullptr ? why : "unknown error"));
  }
  using Fn = const commands::ModuleApi* (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(handle, commands::kModuleApiSymbol));
  if (fn == nullptr) throw RuntimeError(path + " is not an nlpc module (no " + commands::kModuleApiSymbol + ")");
  const commands::ModuleApi* api = fn();
  if (api == nullptr || api->version != commands::kModuleApiVersion ||
      api->size != static_cast<int>(sizeof(commands::ModuleApi))) {
    throw RuntimeError(path + " comes from another build of nlpc (module API version " +
                       std::to_string(api == nullptr ? -1 : api->version) + ", this executable expects " +
                       std::to_string(commands::kModuleApiVersion) + "): rebuild both, or put the matching " +
                       "libnlpc_torch.so next to the executable");
  }
  set_num_threads(globals().threads);  // now that libtorch and OpenBLAS are loaded
  return api;
}
}  // namespace

const commands::ModuleApi& torch_module() {
  static const commands::ModuleApi* api = load();
  return *api;
}

}  // namespace nlpc::cli
