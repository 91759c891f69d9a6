#pragma once
// Loads libnlpc_torch.so (the libtorch half of nlpc) once the command line has parsed; see
// include/nlpc/commands/module_api.h.
#include "nlpc/commands/module_api.h"

namespace nlpc::cli {

// Loads the library on first use (RuntimeError naming the file and the loader's message when it is
// missing, unreadable or from another build) and returns its table of entry points.
const commands::ModuleApi& torch_module();

}  // namespace nlpc::cli
