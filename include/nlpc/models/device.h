#pragma once
// --device cpu|cuda[:N] resolution. CUDA is used when libtorch was built with it; Debian's
// libtorch is CPU-only, so asking for cuda there fails with a clear UsageError.
#include <string>

#include <c10/core/Device.h>

namespace nlpc {

c10::Device resolve_device(const std::string& name);
bool cuda_available();

}  // namespace nlpc
