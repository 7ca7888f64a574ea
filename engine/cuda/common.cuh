#pragma once
// Shared by the CUDA backend's .cu files only: dtype traits (f32 / f16 / bf16
// storage, f32 arithmetic), launch sizes, typed pointers. Nothing outside
// engine/cuda includes this. (No fmt here: nvcc cannot compile fmt's
// consteval format checks, so .cu files report errors through check.h.)
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/cuda/check.h"
#include "engine/cuda/runtime.h"
#include "engine/tensor.h"

namespace sc::engine::cuda {

// Storage <-> f32 arithmetic.
__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Calls f with a typed null pointer of the tensor's float storage type:
// DISPATCH_FLOAT(t.dtype(), [&](auto tag) { using T = decltype(tag); ... }).
template <typename F>
void dispatch_float(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::kF32:
      f(float{});
      return;
    case DType::kF16:
      f(__half{});
      return;
    case DType::kBF16:
      f(__nv_bfloat16{});
      return;
    default:
      fail(cat(op, ": no CUDA kernel for ", to_string(dtype), " data"));
  }
}

inline cudaDataType_t cuda_data_type(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return CUDA_R_16F;
    case DType::kBF16:
      return CUDA_R_16BF;
    default:
      return CUDA_R_32F;
  }
}

// Threads per block of the elementwise and layout kernels.
constexpr int kBlock = 256;

// for (i = this thread; i < n; i += every thread of the grid): kernels stay
// correct when grid_for caps the grid.
#define SC_GRID_STRIDE(i, n)                                                                       \
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)

inline unsigned grid_for(std::int64_t n, int block) {
  const std::int64_t g = (n + block - 1) / block;
  return static_cast<unsigned>(g < 1 ? 1 : (g > 65535LL * 32 ? 65535LL * 32 : g));
}

template <typename T>
T* ptr(Tensor& t) {
  return static_cast<T*>(t.raw_data());
}
template <typename T>
const T* ptr(const Tensor& t) {
  return static_cast<const T*>(t.raw_data());
}

}  // namespace sc::engine::cuda
