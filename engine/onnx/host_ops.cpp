#include "engine/onnx/host_ops.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "base/error.h"
#include "engine/ops.h"

namespace sc::engine::onnx::detail {

namespace {

// Calls f with a value of the C++ type the dtype holds.
template <typename F>
void visit(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kF32:
      return f(float{});
    case DType::kI32:
      return f(std::int32_t{});
    case DType::kI64:
      return f(std::int64_t{});
    case DType::kU8:
      return f(std::uint8_t{});
    default:
      throw Error("ONNX constant folding: {} values are not supported here", to_string(dtype));
  }
}

// Element strides of `in` in `out`'s index space (0 where in broadcasts).
std::vector<std::int64_t> strides_in(const Shape& in, const Shape& out) {
  std::vector<std::int64_t> s(static_cast<std::size_t>(out.rank()), 0);
  std::int64_t run = 1;
  for (int d = out.rank() - 1; d >= 0; --d) {
    const int id = d - (out.rank() - in.rank());
    if (id < 0) continue;
    if (in[id] != 1) s[static_cast<std::size_t>(d)] = run;
    run *= in[id];
  }
  return s;
}

// f(out_index, offset in each input) over every element of `out`.
template <typename F>
void for_each(const Shape& out, std::span<const Shape> ins, F&& f) {
  std::vector<std::vector<std::int64_t>> st;
  for (const Shape& s : ins) st.push_back(strides_in(s, out));
  std::vector<std::int64_t> idx(static_cast<std::size_t>(out.rank()), 0), off(ins.size(), 0);
  const std::int64_t n = out.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (int d = out.rank() - 1; d >= 0; --d) {
      const auto u = static_cast<std::size_t>(d);
      ++idx[u];
      for (std::size_t k = 0; k < ins.size(); ++k) off[k] += st[k][u];
      if (idx[u] < out[d]) break;
      for (std::size_t k = 0; k < ins.size(); ++k) off[k] -= st[k][u] * idx[u];
      idx[u] = 0;
    }
  }
}

template <typename T>
T arith(HostBinary op, T a, T b) {
  switch (op) {
    case HostBinary::kAdd:
      return static_cast<T>(a + b);
    case HostBinary::kSub:
      return static_cast<T>(a - b);
    case HostBinary::kMul:
      return static_cast<T>(a * b);
    case HostBinary::kDiv:
      if constexpr (std::is_integral_v<T>) {
        if (b == 0) throw Error("ONNX constant folding: integer division by zero");
        if constexpr (std::is_signed_v<T>) {
          if (a == std::numeric_limits<T>::min() && b == -1) return a;  // the one overflow wraps
        }
      }
      return static_cast<T>(a / b);
    case HostBinary::kMod:
      if constexpr (std::is_integral_v<T>) {
        if (b == 0) throw Error("ONNX constant folding: integer modulo by zero");
        if constexpr (std::is_signed_v<T>) {
          if (b == -1) return 0;
          const T r = static_cast<T>(a % b);
          return static_cast<T>(r != 0 && ((r < 0) != (b < 0)) ? r + b : r);
        } else {
          return static_cast<T>(a % b);
        }
      } else {
        throw Error("ONNX constant folding: Mod of floats needs fmod = 1");
      }
    case HostBinary::kMax:
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
      }
      return a > b ? a : b;
    case HostBinary::kMin:
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
      }
      return a < b ? a : b;
    default:
      return T{};
  }
}

template <typename T>
bool compare(HostBinary op, T a, T b) {
  switch (op) {
    case HostBinary::kEqual:
      return a == b;
    case HostBinary::kLess:
      return a < b;
    case HostBinary::kGreater:
      return a > b;
    case HostBinary::kLessOrEqual:
      return a <= b;
    case HostBinary::kGreaterOrEqual:
      return a >= b;
    case HostBinary::kAnd:
      return a != 0 && b != 0;
    case HostBinary::kOr:
      return a != 0 || b != 0;
    case HostBinary::kXor:
      return (a != 0) != (b != 0);
    default:
      return false;
  }
}

}  // namespace

bool is_comparison(HostBinary op) { return op >= HostBinary::kEqual; }

Tensor host_binary(HostBinary op, const Tensor& a, const Tensor& b, const Shape& out) {
  const bool cmp = is_comparison(op);
  Tensor y = Tensor::empty(out, cmp ? DType::kU8 : a.dtype());
  const Shape shapes[] = {a.shape(), b.shape()};
  visit(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    if (cmp) {
      auto* py = y.data<std::uint8_t>();
      for_each(out, shapes, [&](std::int64_t i, const std::vector<std::int64_t>& o) {
        py[i] = compare<T>(op, pa[o[0]], pb[o[1]]) ? 1 : 0;
      });
    } else {
      T* py = y.data<T>();
      for_each(out, shapes,
               [&](std::int64_t i, const std::vector<std::int64_t>& o) { py[i] = arith<T>(op, pa[o[0]], pb[o[1]]); });
    }
  });
  return y;
}

Tensor host_where(const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& out) {
  Tensor y = Tensor::empty(out, a.dtype());
  const Shape shapes[] = {cond.shape(), a.shape(), b.shape()};
  const auto* pc = cond.data<std::uint8_t>();
  visit(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* py = y.data<T>();
    for_each(out, shapes,
             [&](std::int64_t i, const std::vector<std::int64_t>& o) { py[i] = pc[o[0]] ? pa[o[1]] : pb[o[2]]; });
  });
  return y;
}

Tensor host_neg(const Tensor& x) {
  if (x.dtype() == DType::kF32) return scale(x, -1.0f);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  visit(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    // Through unsigned arithmetic: negating the most negative value wraps.
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      for (std::int64_t i = 0; i < x.numel(); ++i) py[i] = static_cast<T>(static_cast<U>(0) - static_cast<U>(px[i]));
    }
  });
  return y;
}

Tensor host_abs(const Tensor& x) {
  if (x.dtype() == DType::kF32) return abs(x);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  visit(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
        using U = std::make_unsigned_t<T>;
        py[i] = px[i] < 0 ? static_cast<T>(static_cast<U>(0) - static_cast<U>(px[i])) : px[i];
      } else {
        py[i] = px[i];
      }
    }
  });
  return y;
}

Tensor host_not(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), DType::kU8);
  const auto* px = x.data<std::uint8_t>();
  auto* py = y.data<std::uint8_t>();
  for (std::int64_t i = 0; i < x.numel(); ++i) py[i] = px[i] ? 0 : 1;
  return y;
}

Tensor host_expand(const Tensor& x, const Shape& out) {
  Tensor y = Tensor::empty(out, x.dtype());
  const std::size_t es = dtype_size(x.dtype());
  const auto* px = static_cast<const std::byte*>(x.raw_data());
  auto* py = static_cast<std::byte*>(y.raw_data());
  const Shape shapes[] = {x.shape()};
  for_each(out, shapes, [&](std::int64_t i, const std::vector<std::int64_t>& o) {
    std::memcpy(py + static_cast<std::size_t>(i) * es, px + static_cast<std::size_t>(o[0]) * es, es);
  });
  return y;
}

Tensor host_gather(const Tensor& x, int axis, std::span<const std::int64_t> indices, const Shape& indices_shape) {
  std::vector<std::int64_t> dims;
  for (int d = 0; d < axis; ++d) dims.push_back(x.dim(d));
  for (int d = 0; d < indices_shape.rank(); ++d) dims.push_back(indices_shape[d]);
  for (int d = axis + 1; d < x.rank(); ++d) dims.push_back(x.dim(d));
  Tensor y = Tensor::empty(Shape(dims), x.dtype());
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const std::size_t run = static_cast<std::size_t>(inner) * dtype_size(x.dtype());
  const auto* px = static_cast<const std::byte*>(x.raw_data());
  auto* py = static_cast<std::byte*>(y.raw_data());
  const auto n = static_cast<std::int64_t>(indices.size());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t k = 0; k < n; ++k) {
      std::memcpy(py + static_cast<std::size_t>(o * n + k) * run,
                  px + static_cast<std::size_t>(o * x.dim(axis) + indices[static_cast<std::size_t>(k)]) * run, run);
    }
  }
  return y;
}

Tensor host_cast(const Tensor& x, ElemType to) {
  const DType dt = *engine_dtype(to);
  Tensor y = Tensor::empty(x.shape(), dt);
  visit(x.dtype(), [&](auto from_tag) {
    using S = decltype(from_tag);
    const S* px = x.data<S>();
    visit(dt, [&](auto to_tag) {
      using D = decltype(to_tag);
      D* py = y.data<D>();
      for (std::int64_t i = 0; i < x.numel(); ++i) {
        const S v = px[i];
        if (to == ElemType::kBool) {
          py[i] = static_cast<D>(v != S{} ? 1 : 0);
        } else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
          const double t = std::trunc(static_cast<double>(v));
          if (!(t >= static_cast<double>(std::numeric_limits<D>::min()) &&
                t < static_cast<double>(std::numeric_limits<D>::max()) + 1.0)) {
            throw Error("ONNX constant folding: Cast of {} to {} is out of range", v, elem_type_name(to));
          }
          py[i] = static_cast<D>(t);
        } else {
          py[i] = static_cast<D>(v);
        }
      }
    });
  });
  // Floats that the type holds narrower (float16, bfloat16) round as a
  // stored value would.
  if (to == ElemType::kFloat16) return to_dtype(to_dtype(y, DType::kF16), DType::kF32);
  if (to == ElemType::kBFloat16) return to_dtype(to_dtype(y, DType::kBF16), DType::kF32);
  return y;
}

}  // namespace sc::engine::onnx::detail
