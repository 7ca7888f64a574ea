#include <algorithm>
#include <cmath>
#include <vector>

#include "base/thread_pool.h"
#include "engine/cpu/kernels.h"
#include "engine/cpu/simd.h"

namespace sc::engine::cpu {

namespace {

constexpr std::int64_t kGrain = 1 << 14;

}  // namespace

void unary(UnaryOp op, const Tensor& x, float param, Tensor& out) {
  const float* px = x.data<float>();
  float* py = out.data<float>();
  parallel_for(x.numel(), kGrain, [&](std::int64_t b, std::int64_t e) {
    const float* xs = px + b;
    float* ys = py + b;
    const std::int64_t n = e - b;
    switch (op) {
      case UnaryOp::kSilu:
        simd::silu(xs, ys, n);
        break;
      case UnaryOp::kGelu:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = 0.5f * xs[i] * (1.0f + std::erf(xs[i] * 0.70710678118654752f));
        break;
      case UnaryOp::kGeluTanh:
        simd::gelu_tanh(xs, ys, n);
        break;
      case UnaryOp::kQuickGelu:
        simd::quick_gelu(xs, ys, n);
        break;
      case UnaryOp::kRelu:
        // NaN stays NaN, as in PyTorch.
        for (std::int64_t i = 0; i < n; ++i) ys[i] = xs[i] < 0.0f ? 0.0f : xs[i];
        break;
      case UnaryOp::kTanh:
        simd::tanh(xs, ys, n);
        break;
      case UnaryOp::kSigmoid:
        simd::sigmoid(xs, ys, n);
        break;
      case UnaryOp::kScale:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = xs[i] * param;
        break;
      case UnaryOp::kAddScalar:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = xs[i] + param;
        break;
      case UnaryOp::kExp:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = std::exp(xs[i]);
        break;
      case UnaryOp::kLog:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = std::log(xs[i]);
        break;
      case UnaryOp::kSqrt:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = std::sqrt(xs[i]);
        break;
      case UnaryOp::kAbs:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = std::fabs(xs[i]);
        break;
      case UnaryOp::kReciprocal:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = 1.0f / xs[i];
        break;
      case UnaryOp::kErf:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = std::erf(xs[i]);
        break;
      case UnaryOp::kSin:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = std::sin(xs[i]);
        break;
      case UnaryOp::kCos:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = std::cos(xs[i]);
        break;
      case UnaryOp::kLeakyRelu:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = xs[i] < 0.0f ? xs[i] * param : xs[i];
        break;
      case UnaryOp::kPowScalar:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = std::pow(xs[i], param);
        break;
      // Comparisons that keep NaN (a NaN compares false, so it passes through).
      case UnaryOp::kClampMin:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = xs[i] < param ? param : xs[i];
        break;
      case UnaryOp::kClampMax:
        for (std::int64_t i = 0; i < n; ++i) ys[i] = xs[i] > param ? param : xs[i];
        break;
    }
  });
}

namespace {

// Inner loop over one run of the output; sa / sb are 0 (broadcast) or 1.
template <BinaryOp kOp>
inline float apply(float a, float b) {
  if constexpr (kOp == BinaryOp::kAdd) return a + b;
  if constexpr (kOp == BinaryOp::kSub) return a - b;
  if constexpr (kOp == BinaryOp::kMul) return a * b;
  if constexpr (kOp == BinaryOp::kDiv) return a / b;
  if constexpr (kOp == BinaryOp::kPow) return std::pow(a, b);
  // NaN on either side gives NaN (torch.maximum / minimum).
  if constexpr (kOp == BinaryOp::kMax) return std::isnan(a) || a > b ? a : b;
  return std::isnan(a) || a < b ? a : b;
}

template <BinaryOp kOp>
void run(const float* a, std::int64_t sa, const float* b, std::int64_t sb, float* y, std::int64_t n) {
  // Separate loops per stride pattern so each vectorises.
  if (sa && sb) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = apply<kOp>(a[i], b[i]);
  } else if (sa) {
    const float bv = b[0];
    for (std::int64_t i = 0; i < n; ++i) y[i] = apply<kOp>(a[i], bv);
  } else if (sb) {
    const float av = a[0];
    for (std::int64_t i = 0; i < n; ++i) y[i] = apply<kOp>(av, b[i]);
  } else {
    const float v = apply<kOp>(a[0], b[0]);
    for (std::int64_t i = 0; i < n; ++i) y[i] = v;
  }
}

template <BinaryOp kOp>
void binary_impl(const Tensor& a, const Tensor& b, Tensor& out) {
  const int r = out.rank();
  // Strides of a and b in the output's index space (0 where broadcast),
  // then merge dimensions that are contiguous for both, leaving as few and
  // as long inner runs as possible.
  std::vector<std::int64_t> size, stride_a, stride_b;
  {
    std::vector<std::int64_t> sa(static_cast<std::size_t>(r), 0), sb(static_cast<std::size_t>(r), 0);
    std::int64_t ra = 1, rb = 1;
    for (int i = r - 1; i >= 0; --i) {
      const int ia = i - (r - a.rank()), ib = i - (r - b.rank());
      if (ia >= 0) {
        if (a.dim(ia) != 1) sa[static_cast<std::size_t>(i)] = ra;
        ra *= a.dim(ia);
      }
      if (ib >= 0) {
        if (b.dim(ib) != 1) sb[static_cast<std::size_t>(i)] = rb;
        rb *= b.dim(ib);
      }
    }
    for (int i = 0; i < r; ++i) {
      const std::int64_t n = out.dim(i);
      if (n == 1) continue;  // size-1 dims carry no stride information
      const std::size_t u = static_cast<std::size_t>(i);
      if (!size.empty() && stride_a.back() == sa[u] * n && stride_b.back() == sb[u] * n) {
        size.back() *= n;
        stride_a.back() = sa[u];
        stride_b.back() = sb[u];
      } else {
        size.push_back(n);
        stride_a.push_back(sa[u]);
        stride_b.push_back(sb[u]);
      }
    }
    if (size.empty()) {
      size.push_back(1);
      stride_a.push_back(1);
      stride_b.push_back(1);
    }
  }
  const std::size_t dims = size.size();
  const std::int64_t inner = size.back();
  const std::int64_t ia = stride_a.back(), ib = stride_b.back();
  const std::int64_t rows = out.numel() / std::max<std::int64_t>(inner, 1);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* py = out.data<float>();
  parallel_for(rows, std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(inner, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t row = r0; row < r1; ++row) {
                   std::int64_t rem = row, oa = 0, ob = 0;
                   for (std::size_t d = dims - 1; d-- > 0;) {
                     const std::int64_t c = rem % size[d];
                     rem /= size[d];
                     oa += c * stride_a[d];
                     ob += c * stride_b[d];
                   }
                   run<kOp>(pa + oa, ia, pb + ob, ib, py + row * inner, inner);
                 }
               });
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (out.numel() == 0) return;
  switch (op) {
    case BinaryOp::kAdd:
      return binary_impl<BinaryOp::kAdd>(a, b, out);
    case BinaryOp::kSub:
      return binary_impl<BinaryOp::kSub>(a, b, out);
    case BinaryOp::kMul:
      return binary_impl<BinaryOp::kMul>(a, b, out);
    case BinaryOp::kDiv:
      return binary_impl<BinaryOp::kDiv>(a, b, out);
    case BinaryOp::kPow:
      return binary_impl<BinaryOp::kPow>(a, b, out);
    case BinaryOp::kMax:
      return binary_impl<BinaryOp::kMax>(a, b, out);
    case BinaryOp::kMin:
      return binary_impl<BinaryOp::kMin>(a, b, out);
  }
}

}  // namespace sc::engine::cpu
