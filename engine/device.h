#pragma once
// Which compute devices the engine can use. The CUDA path is optional twice:
// at build time (no nvcc: not compiled) and at run time (no driver or GPU).
#include <cstdint>
#include <string>
#include <vector>

namespace sc::engine {

struct GpuDevice {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  std::uint64_t memory_bytes = 0;
  int multiprocessors = 0;
};

struct CudaReport {
  bool compiled = false;    // built with the CUDA backend
  bool usable = false;      // at least one device answered
  int runtime_version = 0;  // e.g. 13000
  int driver_version = 0;   // 0 when no driver
  std::string error;        // why not usable, in words
  std::vector<GpuDevice> devices;
};

// Asks the CUDA runtime (when compiled in) what is present. Never throws and
// never aborts: any runtime error becomes report.error.
CudaReport probe_cuda();

// Free and total memory of the current CUDA device, in bytes; false when no
// GPU answers (the HUD then shows none).
bool cuda_memory(std::uint64_t* free_bytes, std::uint64_t* total_bytes);

enum class ComputePath { kCpu, kCuda };

// Chooses the path for this process once (CUDA when usable, else CPU) and logs
// the choice a single time. SC_FORCE_CPU=1 forces the CPU path.
ComputePath compute_path();
const char* to_string(ComputePath path);

namespace detail {
CudaReport probe_cuda_runtime();  // engine/cuda/probe.cu
bool cuda_memory_runtime(std::uint64_t* free_bytes, std::uint64_t* total_bytes);
}  // namespace detail

}  // namespace sc::engine
