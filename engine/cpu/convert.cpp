#include <cmath>
#include <cstring>
#include <limits>

#include "base/thread_pool.h"
#include "engine/cpu/kernels.h"
#include "engine/half.h"

namespace sc::engine::cpu {

AxisSplit split_at(const Shape& shape, int axis) {
  AxisSplit s;
  for (int i = 0; i < axis; ++i) s.outer *= shape[i];
  s.size = shape[axis];
  for (int i = axis + 1; i < shape.rank(); ++i) s.inner *= shape[i];
  return s;
}

namespace {

// Every value passes through double (exact for every source type but i64
// beyond 2^53, where f32 could not hold it anyway) or int64.
double load_float(const void* p, DType t, std::int64_t i) {
  switch (t) {
    case DType::kF32:
      return static_cast<const float*>(p)[i];
    case DType::kF16:
      return f16_to_f32(static_cast<const std::uint16_t*>(p)[i]);
    case DType::kBF16:
      return bf16_to_f32(static_cast<const std::uint16_t*>(p)[i]);
    case DType::kI32:
      return static_cast<const std::int32_t*>(p)[i];
    case DType::kI64:
      return static_cast<double>(static_cast<const std::int64_t*>(p)[i]);
    case DType::kU8:
      return static_cast<const std::uint8_t*>(p)[i];
  }
  return 0.0;
}

std::int64_t load_int(const void* p, DType t, std::int64_t i) {
  switch (t) {
    case DType::kI32:
      return static_cast<const std::int32_t*>(p)[i];
    case DType::kI64:
      return static_cast<const std::int64_t*>(p)[i];
    case DType::kU8:
      return static_cast<const std::uint8_t*>(p)[i];
    default:
      break;
  }
  return 0;
}

// Float to integer truncates like a C cast but saturates instead of invoking
// undefined behaviour on NaN or out-of-range values.
template <typename I>
I saturate(double v) {
  if (std::isnan(v)) return 0;
  constexpr double lo = static_cast<double>(std::numeric_limits<I>::min());
  constexpr double hi = static_cast<double>(std::numeric_limits<I>::max());
  if (v <= lo) return std::numeric_limits<I>::min();
  if (v >= hi) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

void convert_range(const void* src, DType from, void* dst, DType to, std::int64_t begin, std::int64_t end) {
  // Float-to-float between f32 and the 16-bit formats is the load path of
  // every checkpoint; it gets direct loops.
  if (from == DType::kF16 && to == DType::kF32) {
    const auto* s = static_cast<const std::uint16_t*>(src);
    auto* d = static_cast<float*>(dst);
    for (std::int64_t i = begin; i < end; ++i) d[i] = f16_to_f32(s[i]);
    return;
  }
  if (from == DType::kBF16 && to == DType::kF32) {
    const auto* s = static_cast<const std::uint16_t*>(src);
    auto* d = static_cast<float*>(dst);
    for (std::int64_t i = begin; i < end; ++i) d[i] = bf16_to_f32(s[i]);
    return;
  }
  const bool int_source = !is_floating(from);
  for (std::int64_t i = begin; i < end; ++i) {
    switch (to) {
      case DType::kF32:
        static_cast<float*>(dst)[i] =
            int_source ? static_cast<float>(load_int(src, from, i)) : static_cast<float>(load_float(src, from, i));
        break;
      case DType::kF16:
        static_cast<std::uint16_t*>(dst)[i] = f32_to_f16(int_source ? static_cast<float>(load_int(src, from, i))
                                                                    : static_cast<float>(load_float(src, from, i)));
        break;
      case DType::kBF16:
        static_cast<std::uint16_t*>(dst)[i] = f32_to_bf16(int_source ? static_cast<float>(load_int(src, from, i))
                                                                     : static_cast<float>(load_float(src, from, i)));
        break;
      case DType::kI32:
        static_cast<std::int32_t*>(dst)[i] = int_source ? static_cast<std::int32_t>(load_int(src, from, i))
                                                        : saturate<std::int32_t>(load_float(src, from, i));
        break;
      case DType::kI64:
        static_cast<std::int64_t*>(dst)[i] =
            int_source ? load_int(src, from, i) : saturate<std::int64_t>(load_float(src, from, i));
        break;
      case DType::kU8:
        static_cast<std::uint8_t*>(dst)[i] = int_source ? static_cast<std::uint8_t>(load_int(src, from, i))
                                                        : saturate<std::uint8_t>(load_float(src, from, i));
        break;
    }
  }
}

}  // namespace

void to_dtype(const Tensor& x, Tensor& out) {
  if (x.dtype() == out.dtype()) {
    std::memcpy(out.raw_data(), x.raw_data(), x.nbytes());
    return;
  }
  const void* src = x.raw_data();
  void* dst = out.raw_data();
  parallel_for(x.numel(), 1 << 16,
               [&](std::int64_t b, std::int64_t e) { convert_range(src, x.dtype(), dst, out.dtype(), b, e); });
}

}  // namespace sc::engine::cpu
