// CUDA runtime probe. Every call is checked; nothing here may abort, because the
// most common case on a user's machine is "no GPU" and that is not an error.
#include <cuda_runtime.h>

#include <string>

#include "engine/device.h"

namespace sc::engine::detail {

CudaReport probe_cuda_runtime() {
  CudaReport report;
  report.compiled = true;
  cudaRuntimeGetVersion(&report.runtime_version);
  if (cudaDriverGetVersion(&report.driver_version) != cudaSuccess) report.driver_version = 0;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    report.error = std::string(cudaGetErrorString(err));
    if (report.driver_version == 0) report.error += " (no NVIDIA driver is loaded)";
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return report;
  }
  if (count == 0) {
    report.error = "the NVIDIA driver reports no CUDA devices";
    return report;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    GpuDevice d;
    d.index = i;
    d.name = prop.name;
    d.compute_major = prop.major;
    d.compute_minor = prop.minor;
    d.memory_bytes = prop.totalGlobalMem;
    d.multiprocessors = prop.multiProcessorCount;
    report.devices.push_back(d);
  }
  report.usable = !report.devices.empty();
  if (!report.usable) report.error = "no CUDA device answered a properties query";
  return report;
}

bool cuda_memory_runtime(std::uint64_t* free_bytes, std::uint64_t* total_bytes) {
  std::size_t f = 0, t = 0;
  if (cudaMemGetInfo(&f, &t) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  *free_bytes = f;
  *total_bytes = t;
  return true;
}

}  // namespace sc::engine::detail
