#pragma once
// Error reporting for the CUDA backend, usable from .cu files (which cannot
// include fmt, see common.cuh) and host .cpp files alike: checks that name the
// failing call, and a plain string builder for messages. All of it throws
// sc::Error (implemented in runtime.cpp).
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <sstream>
#include <string>

#include "engine/cuda/runtime.h"

namespace sc::engine::cuda {

[[noreturn]] void fail(const std::string& message);
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);

// cat("a", 1, 'b') == "a1b"
template <typename... A>
std::string cat(const A&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

#define SC_CUDA_CHECK(call)                                                                               \
  do {                                                                                                    \
    const cudaError_t sc_err_ = (call);                                                                   \
    if (sc_err_ != cudaSuccess) ::sc::engine::cuda::throw_cuda_error(sc_err_, #call, __FILE__, __LINE__); \
  } while (0)
#define SC_CUBLAS_CHECK(call)                                                                                       \
  do {                                                                                                              \
    const cublasStatus_t sc_st_ = (call);                                                                           \
    if (sc_st_ != CUBLAS_STATUS_SUCCESS) ::sc::engine::cuda::throw_cublas_error(sc_st_, #call, __FILE__, __LINE__); \
  } while (0)
// After a kernel launch: configuration errors surface here, not later.
#define SC_CUDA_LAUNCH_CHECK() SC_CUDA_CHECK(cudaGetLastError())

inline cudaStream_t engine_stream() { return static_cast<cudaStream_t>(stream()); }

// cuBLASLt handle and a fixed workspace (allocated once, so GEMMs can be
// captured in CUDA graphs).
cublasLtHandle_t lt_handle();
void* lt_workspace(std::size_t* bytes);

}  // namespace sc::engine::cuda
