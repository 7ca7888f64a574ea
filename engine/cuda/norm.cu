// Normalisations and softmax on CUDA. One block per normalised group or row;
// statistics in f32 with two passes (mean, then the mean squared deviation),
// as exact as the CPU reference; the affine transform (and SiLU for the fused
// GroupNorm + SiLU) is folded into the writing pass.
#include <algorithm>
#include <cfloat>
#include <cstdint>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace sc::engine::cuda {

namespace {

// Sum over the block; every thread gets the result.
__device__ float block_sum(float v) {
  __shared__ float partial[32];
  __shared__ float total;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < (blockDim.x + 31) / 32 ? partial[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) total = s;
  }
  __syncthreads();
  return total;
}

__device__ float block_max(float v) {
  __shared__ float partial[32];
  __shared__ float total;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < (blockDim.x + 31) / 32 ? partial[lane] : -FLT_MAX;
    for (int o = 16; o > 0; o >>= 1) s = fmaxf(s, __shfl_xor_sync(0xffffffffu, s, o));
    if (lane == 0) total = s;
  }
  __syncthreads();
  return total;
}

__device__ __forceinline__ float silu_f(float v) { return v / (1.0f + __expf(-v)); }

// GroupNorm in two kernels so that a few large groups still fill the GPU
// (32 groups x batch 1 would be 32 blocks): the first splits every group into
// chunks and writes each chunk's (count, mean, M2), two-pass within the chunk;
// the second merges a group's chunks (Chan et al.) and normalises a slice of
// it, with the affine transform and the optional SiLU.
struct Moments {
  float count, mean, m2;
};

template <typename T>
__global__ void group_stats_kernel(const T* __restrict__ x, Moments* __restrict__ partial, std::int64_t count,
                                   std::int64_t chunk) {
  const int split = blockIdx.x, splits = gridDim.x;
  const T* xs = x + blockIdx.y * count;
  const std::int64_t begin = split * chunk;
  const std::int64_t end = begin + chunk < count ? begin + chunk : count;
  float s = 0.0f;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) s += to_float(xs[i]);
  const float n = static_cast<float>(end > begin ? end - begin : 0);
  const float total = block_sum(s);
  const float mean = n > 0 ? total / n : 0.0f;
  float q = 0.0f;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const float d = to_float(xs[i]) - mean;
    q += d * d;
  }
  const float m2 = block_sum(q);
  if (threadIdx.x == 0) partial[blockIdx.y * splits + split] = Moments{n, mean, m2};
}

// Group statistics from its chunks' (count, mean, M2) (Chan et al.):
// stats = {mean, 1 / sqrt(variance + eps)}.
__device__ void merge_moments(const Moments* chunks, int splits, float eps, float* stats) {
  float n = 0.0f, mean = 0.0f, m2 = 0.0f;
  for (int k = 0; k < splits; ++k) {
    const Moments b = chunks[k];
    if (b.count == 0.0f) continue;
    const float total = n + b.count;
    const float delta = b.mean - mean;
    mean += delta * (b.count / total);
    m2 += b.m2 + delta * delta * (n * b.count / total);
    n = total;
  }
  stats[0] = mean;
  stats[1] = rsqrtf(m2 / n + eps);
}

template <typename T>
__global__ void group_apply_kernel(const T* __restrict__ x, const Moments* __restrict__ partial,
                                   const T* __restrict__ weight, const T* __restrict__ bias, T* __restrict__ y,
                                   int groups, int cg, std::int64_t spatial, int splits, float eps, bool silu) {
  __shared__ float stats[2];
  const int ng = blockIdx.y;
  if (threadIdx.x == 0) merge_moments(partial + ng * splits, splits, eps, stats);
  __syncthreads();
  const float mean = stats[0], rstd = stats[1];
  const std::int64_t count = static_cast<std::int64_t>(cg) * spatial;
  const T* xs = x + ng * count;
  T* ys = y + ng * count;
  const int g = ng % groups;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int ch = g * cg + static_cast<int>(i / spatial);
    const float wv = weight ? to_float(weight[ch]) : 1.0f;
    const float bv = bias ? to_float(bias[ch]) : 0.0f;
    float v = (to_float(xs[i]) - mean) * rstd * wv + bv;
    if (silu) v = silu_f(v);
    ys[i] = from_float<T>(v);
  }
}

// The same per channel: grid.y is (image, channel), so the channel, its
// weight and bias are known per block, not per element (no 64-bit division),
// and 16-byte vectors move when the plane divides into them.
template <typename T, bool kVec>
__global__ void channel_apply_kernel(const T* __restrict__ x, const Moments* __restrict__ partial,
                                     const T* __restrict__ weight, const T* __restrict__ bias, T* __restrict__ y,
                                     int channels, int cg, int spatial, int splits, float eps, bool silu) {
  __shared__ float stats[2];
  const int nc = blockIdx.y, c = nc % channels;
  const int ng = (nc / channels) * (channels / cg) + c / cg;
  if (threadIdx.x == 0) merge_moments(partial + ng * splits, splits, eps, stats);
  __syncthreads();
  const float mean = stats[0];
  const float scale = stats[1] * (weight ? to_float(weight[c]) : 1.0f);
  const float shift = bias ? to_float(bias[c]) : 0.0f;
  const T* xs = x + static_cast<std::int64_t>(nc) * spatial;
  T* ys = y + static_cast<std::int64_t>(nc) * spatial;
  auto apply = [&](T v) {
    float r = (to_float(v) - mean) * scale + shift;
    if (silu) r = silu_f(r);
    return from_float<T>(r);
  };
  const int stride = static_cast<int>(gridDim.x * blockDim.x);
  if constexpr (kVec) {
    constexpr int kV = 16 / sizeof(T);
    for (int v = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); v < spatial / kV; v += stride) {
      alignas(16) T e[kV];
      *reinterpret_cast<uint4*>(e) = reinterpret_cast<const uint4*>(xs)[v];
#pragma unroll
      for (int k = 0; k < kV; ++k) e[k] = apply(e[k]);
      reinterpret_cast<uint4*>(ys)[v] = *reinterpret_cast<uint4*>(e);
    }
  } else {
    for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < spatial; i += stride)
      ys[i] = apply(xs[i]);
  }
}

// One block per row of the last dimension. rms: no mean, no bias.
template <typename T, bool kRms>
__global__ void row_norm_kernel(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
                                T* __restrict__ y, int d, float eps) {
  const T* xr = x + static_cast<std::int64_t>(blockIdx.x) * d;
  T* yr = y + static_cast<std::int64_t>(blockIdx.x) * d;
  float mean = 0.0f;
  if (!kRms) {
    float s = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) s += to_float(xr[i]);
    mean = block_sum(s) / static_cast<float>(d);
  }
  float q = 0.0f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    const float v = to_float(xr[i]) - mean;
    q += v * v;
  }
  const float rstd = rsqrtf(block_sum(q) / static_cast<float>(d) + eps);
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    float v = (to_float(xr[i]) - mean) * rstd;
    if (weight) v *= to_float(weight[i]);
    if (!kRms && bias) v += to_float(bias[i]);
    yr[i] = from_float<T>(v);
  }
}

// Softmax over a contiguous last dimension: one block per row.
template <typename T>
__global__ void softmax_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int d) {
  const T* xr = x + static_cast<std::int64_t>(blockIdx.x) * d;
  T* yr = y + static_cast<std::int64_t>(blockIdx.x) * d;
  float m = -INFINITY;
  for (int i = threadIdx.x; i < d; i += blockDim.x) m = fmaxf(m, to_float(xr[i]));
  m = block_max(m);
  float s = 0.0f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) s += __expf(to_float(xr[i]) - m);
  const float inv = 1.0f / block_sum(s);
  for (int i = threadIdx.x; i < d; i += blockDim.x) yr[i] = from_float<T>(__expf(to_float(xr[i]) - m) * inv);
}

// Softmax over a strided dimension: one thread per (outer, inner) position.
template <typename T>
__global__ void softmax_strided_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t outer,
                                       std::int64_t size, std::int64_t inner) {
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < outer * inner;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t base = (idx / inner) * size * inner + idx % inner;
    float m = -INFINITY;
    for (std::int64_t i = 0; i < size; ++i) m = fmaxf(m, to_float(x[base + i * inner]));
    float s = 0.0f;
    for (std::int64_t i = 0; i < size; ++i) s += __expf(to_float(x[base + i * inner]) - m);
    const float inv = 1.0f / s;
    for (std::int64_t i = 0; i < size; ++i) {
      y[base + i * inner] = from_float<T>(__expf(to_float(x[base + i * inner]) - m) * inv);
    }
  }
}

template <typename T>
const T* opt_ptr(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

int row_block(std::int64_t d) { return d >= 1024 ? 512 : d >= 256 ? 256 : 128; }

}  // namespace

void group_norm(const Tensor& x, std::int64_t groups, const Tensor& weight, const Tensor& bias, float eps, bool silu,
                Tensor& out) {
  const std::int64_t n = x.dim(0), c = x.dim(1);
  if (x.numel() == 0) return;
  const std::int64_t spatial = x.numel() / (n * c);
  const std::int64_t count = (c / groups) * spatial;
  const std::int64_t ng = n * groups;
  // About four blocks per SM in all, chunks of at least 4096 values.
  const std::int64_t splits =
      std::clamp<std::int64_t>(std::min<std::int64_t>((528 + ng - 1) / ng, count / 4096), 1, 64);
  const std::int64_t chunk = (count + splits - 1) / splits;
  Tensor partial = Tensor::empty({ng * splits * 3}, DType::kF32, Device::kCuda);
  auto* moments = static_cast<Moments*>(partial.raw_data());
  dispatch_float(x.dtype(), "group_norm", [&](auto tag) {
    using T = decltype(tag);
    group_stats_kernel<T><<<dim3(static_cast<unsigned>(splits), static_cast<unsigned>(ng)), 256, 0, engine_stream()>>>(
        ptr<T>(x), moments, count, chunk);
    if (n * c <= 65535 && spatial < (1ll << 31)) {
      // Per channel; vectors when every plane starts 16-byte aligned.
      constexpr std::int64_t kV = 16 / sizeof(T);
      const bool vec = spatial % kV == 0 && reinterpret_cast<std::uintptr_t>(x.raw_data()) % 16 == 0 &&
                       reinterpret_cast<std::uintptr_t>(out.raw_data()) % 16 == 0;
      const std::int64_t units = vec ? spatial / kV : spatial;
      const dim3 grid(static_cast<unsigned>(std::clamp<std::int64_t>((units + 255) / 256, 1, 64)),
                      static_cast<unsigned>(n * c));
      auto launch = [&](auto kernel) {
        kernel<<<grid, 256, 0, engine_stream()>>>(ptr<T>(x), moments, opt_ptr<T>(weight), opt_ptr<T>(bias), ptr<T>(out),
                                                  static_cast<int>(c), static_cast<int>(c / groups),
                                                  static_cast<int>(spatial), static_cast<int>(splits), eps, silu);
      };
      if (vec) {
        launch(channel_apply_kernel<T, true>);
      } else {
        launch(channel_apply_kernel<T, false>);
      }
    } else {
      const std::int64_t apply_blocks = std::clamp<std::int64_t>((count + 1023) / 1024, 1, 4 * splits);
      group_apply_kernel<T>
          <<<dim3(static_cast<unsigned>(apply_blocks), static_cast<unsigned>(ng)), 256, 0, engine_stream()>>>(
              ptr<T>(x), moments, opt_ptr<T>(weight), opt_ptr<T>(bias), ptr<T>(out), static_cast<int>(groups),
              static_cast<int>(c / groups), spatial, static_cast<int>(splits), eps, silu);
    }
  });
  SC_CUDA_LAUNCH_CHECK();
}

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out) {
  const std::int64_t d = x.dim(-1);
  if (x.numel() == 0) return;
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    row_norm_kernel<T, false><<<static_cast<unsigned>(x.numel() / d), row_block(d), 0, engine_stream()>>>(
        ptr<T>(x), opt_ptr<T>(weight), opt_ptr<T>(bias), ptr<T>(out), static_cast<int>(d), eps);
  });
  SC_CUDA_LAUNCH_CHECK();
}

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  const std::int64_t d = x.dim(-1);
  if (x.numel() == 0) return;
  dispatch_float(x.dtype(), "rms_norm", [&](auto tag) {
    using T = decltype(tag);
    row_norm_kernel<T, true><<<static_cast<unsigned>(x.numel() / d), row_block(d), 0, engine_stream()>>>(
        ptr<T>(x), opt_ptr<T>(weight), nullptr, ptr<T>(out), static_cast<int>(d), eps);
  });
  SC_CUDA_LAUNCH_CHECK();
}

void softmax(const Tensor& x, int dim, Tensor& out) {
  if (x.numel() == 0) return;
  const cpu::AxisSplit a = cpu::split_at(x.shape(), dim);
  dispatch_float(x.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    if (a.inner == 1) {
      softmax_rows_kernel<T><<<static_cast<unsigned>(a.outer), row_block(a.size), 0, engine_stream()>>>(
          ptr<T>(x), ptr<T>(out), static_cast<int>(a.size));
    } else {
      softmax_strided_kernel<T><<<grid_for(a.outer * a.inner, 256), 256, 0, engine_stream()>>>(
          ptr<T>(x), ptr<T>(out), a.outer, a.size, a.inner);
    }
  });
  SC_CUDA_LAUNCH_CHECK();
}

}  // namespace sc::engine::cuda
