#include "nlpc/models/device.h"

#include <torch/cuda.h>

#include "nlpc/core/error.h"

namespace nlpc {

bool cuda_available() { return torch::cuda::is_available(); }

c10::Device resolve_device(const std::string& name) {
  if (name.empty() || name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!cuda_available()) {
      throw UsageError("--device " + name +
                       ": this libtorch build has no CUDA support (Debian's libtorch is CPU-only) or no "
                       "GPU is visible; use --device cpu");
    }
    return c10::Device(name);
  }
  throw UsageError("--device: unknown device '" + name + "' (expected cpu, cuda or cuda:N)");
}

}  // namespace nlpc
