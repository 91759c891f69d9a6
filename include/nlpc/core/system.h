#pragma once
// Process-wide facts and settings: versions, threads, BLAS, host, time, peak memory.
#include <cstdint>
#include <string>

namespace nlpc {

std::string nlpc_version();
std::string libtorch_version();
// e.g. "OpenBLAS 0.3.21 (pthread, 2 threads)" or a warning when the reference BLAS is in use.
std::string blas_description();
bool blas_is_optimized();

// Number of hardware threads.
int hardware_threads();
// Sets libtorch intra-op threads and BLAS threads; n <= 0 means all cores. libtorch and OpenBLAS
// are found at run time: called before they are loaded, only the count is recorded (call again).
void set_num_threads(int n);
int num_threads();

// While at least one BlasThreadsScope is alive, OpenBLAS runs its calls on `n` threads; the count
// in force before the first scope is restored when the last one ends (reference-counted, thread
// safe). Used by the inference fast paths, which parallelise over rows or attention heads with
// libtorch's own thread pool and call single-threaded GEMMs from each worker. A no-op when the BLAS
// is not OpenBLAS (blas_threads_controllable() is then false).
class BlasThreadsScope {
 public:
  explicit BlasThreadsScope(int n);
  ~BlasThreadsScope();
  BlasThreadsScope(const BlasThreadsScope&) = delete;
  BlasThreadsScope& operator=(const BlasThreadsScope&) = delete;

 private:
  bool active_ = false;
};
bool blas_threads_controllable();

std::string host_name();
std::string user_name();
// Milliseconds since the Unix epoch.
int64_t now_ms();
// Peak resident set size of this process in bytes (VmHWM), 0 when unknown.
int64_t peak_rss_bytes();
int64_t current_rss_bytes();

}  // namespace nlpc
