// Elementwise ops on CUDA: dtype conversion, unary activations, broadcasting
// binary ops and the fused GEGLU. Grid-stride loops, f32 arithmetic on any
// float storage, formulas identical to the CPU backend's.
#include <cstdint>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace sc::engine::cuda {

namespace {

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

__device__ __forceinline__ float unary_value(UnaryOp op, float v, float param) {
  switch (op) {
    case UnaryOp::kSilu:
      return v / (1.0f + expf(-v));
    case UnaryOp::kGelu:
      return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case UnaryOp::kGeluTanh:
      return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case UnaryOp::kQuickGelu:
      return v / (1.0f + expf(-1.702f * v));
    case UnaryOp::kRelu:
      return v < 0.0f ? 0.0f : v;
    case UnaryOp::kTanh:
      return tanhf(v);
    case UnaryOp::kSigmoid:
      return 1.0f / (1.0f + expf(-v));
    case UnaryOp::kScale:
      return v * param;
    case UnaryOp::kAddScalar:
      return v + param;
    case UnaryOp::kExp:
      return expf(v);
    case UnaryOp::kLog:
      return logf(v);
    case UnaryOp::kSqrt:
      return sqrtf(v);
    case UnaryOp::kAbs:
      return fabsf(v);
    case UnaryOp::kReciprocal:
      return 1.0f / v;
    case UnaryOp::kErf:
      return erff(v);
    case UnaryOp::kSin:
      return sinf(v);
    case UnaryOp::kCos:
      return cosf(v);
    case UnaryOp::kLeakyRelu:
      return v < 0.0f ? v * param : v;
    case UnaryOp::kPowScalar:
      return powf(v, param);
    case UnaryOp::kClampMin:
      return v < param ? param : v;
    case UnaryOp::kClampMax:
      return v > param ? param : v;
  }
  return v;
}

template <typename T>
__global__ void unary_kernel(UnaryOp op, const T* __restrict__ x, T* __restrict__ y, std::int64_t n, float param) {
  SC_GRID_STRIDE(i, n) { y[i] = from_float<T>(unary_value(op, to_float(x[i]), param)); }
}

template <typename T>
__global__ void unary_vec_kernel(UnaryOp op, const T* __restrict__ x, T* __restrict__ y, std::int64_t vectors,
                                 float param) {
  constexpr int kV = 16 / sizeof(T);
  SC_GRID_STRIDE(v, vectors) {
    alignas(16) T vx[kV];
    *reinterpret_cast<uint4*>(vx) = reinterpret_cast<const uint4*>(x)[v];
#pragma unroll
    for (int e = 0; e < kV; ++e) vx[e] = from_float<T>(unary_value(op, to_float(vx[e]), param));
    reinterpret_cast<uint4*>(y)[v] = *reinterpret_cast<uint4*>(vx);
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
  if constexpr (kOp == BinaryOp::kDiv) return a / b;
  if constexpr (kOp == BinaryOp::kPow) return powf(a, b);
  if constexpr (kOp == BinaryOp::kMax) return isnan(a) || a > b ? a : b;
  return isnan(a) || a < b ? a : b;
}

template <typename T, BinaryOp kOp>
__global__ void binary_same_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y,
                                   std::int64_t n) {
  SC_GRID_STRIDE(i, n) { y[i] = from_float<T>(apply<kOp>(to_float(a[i]), to_float(b[i]))); }
}

// 16-byte loads and stores: 8 halves or 4 floats per access. b is either
// the same shape as a (b_inner == 0) or constant over runs of b_inner
// elements, cycling through b_count values (a bias [C, 1, 1] or per-row
// factors [N, 1, 1, 1]); b_inner is a multiple of the vector width.
template <typename T, BinaryOp kOp>
__global__ void binary_vec_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y,
                                  std::int64_t vectors, std::uint32_t b_inner_vectors, std::uint32_t b_count) {
  constexpr int kV = 16 / sizeof(T);
  SC_GRID_STRIDE(v, vectors) {
    alignas(16) T va[kV];
    alignas(16) T vb[kV];
    *reinterpret_cast<uint4*>(va) = reinterpret_cast<const uint4*>(a)[v];
    if (b_inner_vectors == 0) {
      *reinterpret_cast<uint4*>(vb) = reinterpret_cast<const uint4*>(b)[v];
    } else {
      const T bv = b[(static_cast<std::uint32_t>(v) / b_inner_vectors) % b_count];
#pragma unroll
      for (int e = 0; e < kV; ++e) vb[e] = bv;
    }
#pragma unroll
    for (int e = 0; e < kV; ++e) va[e] = from_float<T>(apply<kOp>(to_float(va[e]), to_float(vb[e])));
    reinterpret_cast<uint4*>(y)[v] = *reinterpret_cast<uint4*>(va);
  }
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

// b broadcasts against a full-size a as [1.., d_k .. d_m, 1..] with the
// middle dims equal to out's: returns the elements per b value (the product
// of the trailing 1s), or 0 when b is not of that form.
std::int64_t row_broadcast_inner(const Tensor& a, const Tensor& b, const Shape& out) {
  if (!(a.shape() == out) || b.numel() <= 1) return 0;
  const int r = out.rank(), off = r - b.rank();
  int d = r - 1;
  std::int64_t inner = 1;
  while (d >= 0 && (d - off < 0 || b.dim(d - off) == 1)) inner *= out[d--];
  if (d < 0) return 0;
  while (d >= 0 && d - off >= 0 && b.dim(d - off) == out[d] && b.dim(d - off) != 1) --d;
  for (; d >= 0; --d) {
    if (d - off >= 0 && b.dim(d - off) != 1) return 0;
  }
  return inner;
}

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

template <typename T>
void launch_binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const std::int64_t n = out.numel();
  const bool same = a.shape() == out.shape() && b.shape() == out.shape();
  constexpr int kV = 16 / sizeof(T);
  const std::int64_t inner = same ? 0 : row_broadcast_inner(a, b, out.shape());
  const bool vec = n % kV == 0 && aligned16(a.raw_data()) && aligned16(out.raw_data()) && n / kV < (1ll << 31) &&
                   ((same && aligned16(b.raw_data())) || (inner > 0 && inner % kV == 0));
  BroadcastIndex ix;
  if (!same) {
    ix.rank = out.rank();
    for (int d = 0; d < out.rank(); ++d) ix.dims[d] = out.dim(d);
    broadcast_strides(a, out.shape(), ix.sa);
    broadcast_strides(b, out.shape(), ix.sb);
  }
  auto go = [&](auto kop) {
    constexpr BinaryOp k = decltype(kop)::value;
    if (vec) {
      const std::int64_t vectors = n / kV;
      binary_vec_kernel<T, k><<<grid_for(vectors, kBlock), kBlock, 0, engine_stream()>>>(
          ptr<T>(a), ptr<T>(b), ptr<T>(out), vectors, static_cast<std::uint32_t>(same ? 0 : inner / kV),
          static_cast<std::uint32_t>(b.numel()));
    } else if (same) {
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
    case BinaryOp::kPow:
      go(std::integral_constant<BinaryOp, BinaryOp::kPow>{});
      break;
    case BinaryOp::kMax:
      go(std::integral_constant<BinaryOp, BinaryOp::kMax>{});
      break;
    case BinaryOp::kMin:
      go(std::integral_constant<BinaryOp, BinaryOp::kMin>{});
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
    constexpr int kV = 16 / sizeof(T);
    if (n % kV == 0 && aligned16(x.raw_data()) && aligned16(out.raw_data())) {
      unary_vec_kernel<T>
          <<<grid_for(n / kV, kBlock), kBlock, 0, engine_stream()>>>(op, ptr<T>(x), ptr<T>(out), n / kV, param);
    } else {
      unary_kernel<T><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(op, ptr<T>(x), ptr<T>(out), n, param);
    }
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
