// The table the nlpc executable loads from libnlpc_torch.so (include/nlpc/commands/module_api.h).
#include <catch2/catch.hpp>

#include <cstring>

#include "nlpc/commands/module_api.h"
#include "nlpc/tasks/registry.h"

extern "C" const nlpc::commands::ModuleApi* nlpc_module_api();

TEST_CASE("module api: the command line's task names are the registry's", "[cli]") {
  CHECK(nlpc::commands::cli_task_names(false) == nlpc::tasks::task_names(false));
  CHECK(nlpc::commands::cli_task_names(true) == nlpc::tasks::task_names(true));
}

TEST_CASE("module api: every entry point is set", "[cli]") {
  const auto* api = nlpc_module_api();
  REQUIRE(api != nullptr);
  CHECK(api->version == nlpc::commands::kModuleApiVersion);
  CHECK(api->size == static_cast<int>(sizeof(nlpc::commands::ModuleApi)));
  // Every member after the two ints is a function pointer; none may be left null.
  const auto* first = reinterpret_cast<const char*>(&api->run_train);
  const auto* end = reinterpret_cast<const char*>(api) + sizeof(*api);
  int n = 0;
  for (const char* p = first; p + sizeof(void*) <= end; p += sizeof(void*), ++n) {
    void* fn = nullptr;
    std::memcpy(&fn, p, sizeof(fn));
    INFO("member " << n);
    CHECK(fn != nullptr);
  }
  CHECK(n == 21);
}
