#include "engine/device.h"

#include <cstdlib>
#include <mutex>
#include <string_view>

#include "base/log.h"

namespace sc::engine {

CudaReport probe_cuda() {
#if defined(SC_HAVE_CUDA)
  return detail::probe_cuda_runtime();
#else
  CudaReport report;
  report.error = "this build has no CUDA backend (nvcc was not found at configure time)";
  return report;
#endif
}

bool cuda_memory(std::uint64_t* free_bytes, std::uint64_t* total_bytes) {
#if defined(SC_HAVE_CUDA)
  if (compute_path() != ComputePath::kCuda) return false;
  return detail::cuda_memory_runtime(free_bytes, total_bytes);
#else
  (void)free_bytes;
  (void)total_bytes;
  return false;
#endif
}

ComputePath compute_path() {
  static ComputePath path = [] {
    const char* force = std::getenv("SC_FORCE_CPU");
    if (force && std::string_view(force) == "1") {
      log::info("compute: CPU path (SC_FORCE_CPU=1)");
      return ComputePath::kCpu;
    }
    CudaReport r = probe_cuda();
    if (r.usable) {
      log::info("compute: CUDA on {} ({} device(s))", r.devices.front().name, r.devices.size());
      return ComputePath::kCuda;
    }
    log::info("compute: no usable GPU ({}); using the CPU path", r.error);
    return ComputePath::kCpu;
  }();
  return path;
}

const char* to_string(ComputePath path) { return path == ComputePath::kCuda ? "cuda" : "cpu"; }

}  // namespace sc::engine
