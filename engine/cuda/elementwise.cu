// Elementwise ops on CUDA: dtype conversion, unary activations, broadcasting
// binary ops and the fused GEGLU. Grid-stride loops, f32 arithmetic on any
// float storage, formulas identical to the CPU backend's.
#include <cstdint>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace sc::engine::cuda {

namespace {

constexpr int kBlock = 256;

#define SC_GRID_STRIDE(i, n)                                                                       \
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)

// ---- conversion ----------------------------------------------------------------

template <typename T>
constexpr bool kIsFloat = std::is_same_v<T, float> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

template <typename S, typename D>
__device__ __forceinline__ D convert_one(S v) {
  if constexpr (kIsFloat<S> && kIsFloat<D>) {
    return from_float<D>(to_float(v));
  } else if constexpr (kIsFloat<S>) {
    return static_cast<D>(to_float(v));  // truncates toward zero, like a C cast
  } else if constexpr (kIsFloat<D>) {
    return from_float<D>(static_cast<float>(v));
  } else {
    return static_cast<D>(v);
  }
}

template <typename S, typename D>
__global__ void convert_kernel(const S* __restrict__ x, D* __restrict__ y, std::int64_t n) {
  SC_GRID_STRIDE(i, n) { y[i] = convert_one<S, D>(x[i]); }
}

template <typename F>
void dispatch_any(DType dtype, F&& f) {
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
    case DType::kI32:
      f(std::int32_t{});
      return;
    case DType::kI64:
      f(std::int64_t{});
      return;
    case DType::kU8:
      f(std::uint8_t{});
      return;
  }
}

// ---- unary ---------------------------------------------------------------------------

template <typename T>
__global__ void unary_kernel(UnaryOp op, const T* __restrict__ x, T* __restrict__ y, std::int64_t n, float param) {
  SC_GRID_STRIDE(i, n) {
    const float v = to_float(x[i]);
    float r = v;
    switch (op) {
      case UnaryOp::kSilu:
        r = v / (1.0f + expf(-v));
        break;
      case UnaryOp::kGelu:
        r = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        break;
      case UnaryOp::kGeluTanh:
        r = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        break;
      case UnaryOp::kQuickGelu:
        r = v / (1.0f + expf(-1.702f * v));
        break;
      case UnaryOp::kRelu:
        r = v < 0.0f ? 0.0f : v;
        break;
      case UnaryOp::kTanh:
        r = tanhf(v);
        break;
      case UnaryOp::kSigmoid:
        r = 1.0f / (1.0f + expf(-v));
        break;
      case UnaryOp::kScale:
        r = v * param;
        break;
      case UnaryOp::kAddScalar:
        r = v + param;
        break;
    }
    y[i] = from_float<T>(r);
  }
}

// ---- binary with broadcasting -------------------------------------------------------

struct BroadcastIndex {
  int rank = 0;
  std::int64_t dims[kMaxDims]{};
  std::int64_t sa[kMaxDims]{};  // element strides of a (0 where broadcast)
  std::int64_t sb[kMaxDims]{};
};

template <BinaryOp kOp>
__device__ __forceinline__ float apply(float a, float b) {
  if constexpr (kOp == BinaryOp::kAdd) return a + b;
  if constexpr (kOp == BinaryOp::kSub) return a - b;
  if constexpr (kOp == BinaryOp::kMul) return a * b;
  return a / b;
}

template <typename T, BinaryOp kOp>
__global__ void binary_same_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y,
                                   std::int64_t n) {
  SC_GRID_STRIDE(i, n) { y[i] = from_float<T>(apply<kOp>(to_float(a[i]), to_float(b[i]))); }
}

// Idx: 32-bit index math when everything fits (64-bit division is slow).
template <typename T, BinaryOp kOp, typename Idx>
__global__ void binary_broadcast_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y,
                                        std::int64_t n, BroadcastIndex ix) {
  SC_GRID_STRIDE(i, n) {
    Idx rest = static_cast<Idx>(i), oa = 0, ob = 0;
    for (int d = ix.rank - 1; d >= 0; --d) {
      const Idx extent = static_cast<Idx>(ix.dims[d]);
      const Idx c = rest % extent;
      rest /= extent;
      oa += c * static_cast<Idx>(ix.sa[d]);
      ob += c * static_cast<Idx>(ix.sb[d]);
    }
    y[i] = from_float<T>(apply<kOp>(to_float(a[oa]), to_float(b[ob])));
  }
}

// Element strides of t aligned to out's dimensions, 0 where t broadcasts.
void broadcast_strides(const Tensor& t, const Shape& out, std::int64_t* strides) {
  std::int64_t s = 1;
  for (int d = out.rank() - 1; d >= 0; --d) {
    const int td = d - (out.rank() - t.rank());
    const std::int64_t extent = td >= 0 ? t.dim(td) : 1;
    strides[d] = extent == 1 ? 0 : s;
    s *= extent;
  }
}

template <typename T>
void launch_binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const std::int64_t n = out.numel();
  const bool same = a.shape() == out.shape() && b.shape() == out.shape();
  BroadcastIndex ix;
  if (!same) {
    ix.rank = out.rank();
    for (int d = 0; d < out.rank(); ++d) ix.dims[d] = out.dim(d);
    broadcast_strides(a, out.shape(), ix.sa);
    broadcast_strides(b, out.shape(), ix.sb);
  }
  auto go = [&](auto kop) {
    constexpr BinaryOp k = decltype(kop)::value;
    if (same) {
      binary_same_kernel<T, k>
          <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(a), ptr<T>(b), ptr<T>(out), n);
    } else {
      if (n < (1ll << 31)) {
        binary_broadcast_kernel<T, k, std::uint32_t>
            <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(a), ptr<T>(b), ptr<T>(out), n, ix);
      } else {
        binary_broadcast_kernel<T, k, std::int64_t>
            <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(a), ptr<T>(b), ptr<T>(out), n, ix);
      }
    }
  };
  switch (op) {
    case BinaryOp::kAdd:
      go(std::integral_constant<BinaryOp, BinaryOp::kAdd>{});
      break;
    case BinaryOp::kSub:
      go(std::integral_constant<BinaryOp, BinaryOp::kSub>{});
      break;
    case BinaryOp::kMul:
      go(std::integral_constant<BinaryOp, BinaryOp::kMul>{});
      break;
    case BinaryOp::kDiv:
      go(std::integral_constant<BinaryOp, BinaryOp::kDiv>{});
      break;
  }
}

// ---- GEGLU ----------------------------------------------------------------------------

template <typename T, typename Idx>
__global__ void geglu_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t n, std::int64_t half_count) {
  const Idx half = static_cast<Idx>(half_count);
  SC_GRID_STRIDE(i, n) {
    const Idx row = static_cast<Idx>(i) / half, col = static_cast<Idx>(i) % half;
    const float v = to_float(x[row * 2 * half + col]);
    const float g = to_float(x[row * 2 * half + half + col]);
    y[i] = from_float<T>(v * 0.5f * g * (1.0f + erff(g * 0.70710678118654752f)));
  }
}

}  // namespace

void to_dtype(const Tensor& x, Tensor& out) {
  const std::int64_t n = x.numel();
  if (n == 0) return;
  dispatch_any(x.dtype(), [&](auto s_tag) {
    using S = decltype(s_tag);
    dispatch_any(out.dtype(), [&](auto d_tag) {
      using D = decltype(d_tag);
      convert_kernel<S, D><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<S>(x), ptr<D>(out), n);
    });
  });
  SC_CUDA_LAUNCH_CHECK();
}

void unary(UnaryOp op, const Tensor& x, float param, Tensor& out) {
  const std::int64_t n = x.numel();
  if (n == 0) return;
  dispatch_float(x.dtype(), "unary op", [&](auto tag) {
    using T = decltype(tag);
    unary_kernel<T><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(op, ptr<T>(x), ptr<T>(out), n, param);
  });
  SC_CUDA_LAUNCH_CHECK();
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (out.numel() == 0) return;
  dispatch_float(out.dtype(), "binary op", [&](auto tag) { launch_binary<decltype(tag)>(op, a, b, out); });
  SC_CUDA_LAUNCH_CHECK();
}

void geglu(const Tensor& x, Tensor& out) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  dispatch_float(x.dtype(), "geglu", [&](auto tag) {
    using T = decltype(tag);
    if (2 * n < (1ll << 31)) {
      geglu_kernel<T, std::uint32_t>
          <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), n, out.dim(-1));
    } else {
      geglu_kernel<T, std::int64_t>
          <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), n, out.dim(-1));
    }
  });
  SC_CUDA_LAUNCH_CHECK();
}

}  // namespace sc::engine::cuda
