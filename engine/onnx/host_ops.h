#pragma once
// Inside engine/onnx only: arithmetic the engine's ops do not cover because
// it only ever runs on values known at load: shape computations on int64
// (Shape -> Gather -> Concat -> Reshape chains), comparisons, Where, casts
// with ONNX's bool rules. CPU tensors in, CPU tensors out, any engine dtype.
// Lowerings call these only when every input is known (constant folding);
// a graph that needs them on run-time values is refused at load.
#include <cstdint>
#include <span>

#include "engine/onnx/reader.h"
#include "engine/tensor.h"

namespace sc::engine::onnx::detail {

enum class HostBinary {
  kAdd,
  kSub,
  kMul,
  kDiv,  // integers truncate toward zero; division by zero is an error
  kMod,  // integers: the sign of the divisor (ONNX Mod with fmod = 0)
  kMax,
  kMin,
  kEqual,
  kLess,
  kGreater,
  kLessOrEqual,
  kGreaterOrEqual,
  kAnd,
  kOr,
  kXor,
};
bool is_comparison(HostBinary op);  // comparisons and logic give bool (u8)

// a and b of one dtype, broadcast to `out`.
Tensor host_binary(HostBinary op, const Tensor& a, const Tensor& b, const Shape& out);
Tensor host_where(const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& out);
Tensor host_neg(const Tensor& x);
Tensor host_abs(const Tensor& x);
Tensor host_not(const Tensor& x);
// Any dtype broadcast to `out` (Expand).
Tensor host_expand(const Tensor& x, const Shape& out);
// Elements of x along `axis` at `indices` (already in range), any dtype.
Tensor host_gather(const Tensor& x, int axis, std::span<const std::int64_t> indices, const Shape& indices_shape);
// ONNX Cast between the engine's holdings of `from` and `to`: to bool is
// x != 0, float to integer truncates toward zero (out-of-range values are an
// error rather than C's undefined behaviour), integers wrap like C casts.
Tensor host_cast(const Tensor& x, ElemType to);

}  // namespace sc::engine::onnx::detail
