#pragma once
// The CPU backend: fp32 reference kernels, multithreaded over the process's
// pool (base/thread_pool.h), GEMM through OpenBLAS. engine/ops.cpp has already
// checked every argument and allocated `out` with the right shape; kernels
// only compute. The kernels are declared by engine/op_list.inc, not here, so
// the two backends cannot drift apart; this header adds the kernel selectors
// both backends take and the helpers the CUDA backend shares.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/ops.h"
#include "engine/tensor.h"

namespace sc::engine::cpu {

// param: kScale's factor, kAddScalar's value, kLeakyRelu's negative slope,
// kPowScalar's exponent, kClampMin's lower and kClampMax's upper bound.
enum class UnaryOp {
  kSilu,
  kGelu,
  kGeluTanh,
  kQuickGelu,
  kRelu,
  kTanh,
  kSigmoid,
  kScale,
  kAddScalar,
  kExp,
  kLog,
  kSqrt,
  kAbs,
  kReciprocal,
  kErf,
  kSin,
  kCos,
  kLeakyRelu,
  kPowScalar,
  kClampMin,
  kClampMax
};
enum class BinaryOp { kAdd, kSub, kMul, kDiv, kPow, kMax, kMin };
enum class ReduceOp { kSum, kMean, kMax, kMin };

// Every entry of engine/op_list.inc whose cpu column says KERNEL, with the
// list's signature.
#define SC_OP(Enum, kernel, cpu, cuda, params) SC_OP_DECLARE_##cpu(kernel, params)
#include "engine/op_list.inc"

// rope's cos / sin tables, [positions][rot / 2] each; the CUDA backend uploads
// the same tables so both backends rotate identically.
struct RopeTables {
  std::vector<float> cos, sin;
};
RopeTables rope_tables(std::span<const std::int64_t> positions, std::int64_t rot, float theta);

// [outer, dim, inner] view of a contiguous shape around one axis.
struct AxisSplit {
  std::int64_t outer = 1;
  std::int64_t size = 1;
  std::int64_t inner = 1;
};
AxisSplit split_at(const Shape& shape, int axis);

}  // namespace sc::engine::cpu
