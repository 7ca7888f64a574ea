#pragma once
// The CPU backend: fp32 reference kernels, multithreaded over the engine's
// pool, GEMM through OpenBLAS. engine/ops.cpp has already checked every
// argument and allocated `out` with the right shape; kernels only compute.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/ops.h"
#include "engine/tensor.h"

namespace sc::engine::cpu {

void to_dtype(const Tensor& x, Tensor& out);

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);
void matmul(const Tensor& a, const Tensor& b, Tensor& out);
void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params, Tensor& out);

// silu: applies x * sigmoid(x) to the normalised result (fused GroupNorm + SiLU).
void group_norm(const Tensor& x, std::int64_t groups, const Tensor& weight, const Tensor& bias, float eps, bool silu,
                Tensor& out);
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out);
void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out);
void softmax(const Tensor& x, int dim, Tensor& out);

void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& mask, float scale,
               Tensor& out);

enum class UnaryOp { kSilu, kGelu, kGeluTanh, kQuickGelu, kRelu, kTanh, kSigmoid, kScale, kAddScalar };
void unary(UnaryOp op, const Tensor& x, float param, Tensor& out);
enum class BinaryOp { kAdd, kSub, kMul, kDiv };
void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);

void concat(std::span<const Tensor> tensors, int dim, Tensor& out);
void slice(const Tensor& x, int dim, std::int64_t start, std::int64_t step, Tensor& out);
void permute(const Tensor& x, std::span<const int> dims, Tensor& out);
void pad(const Tensor& x, std::span<const std::int64_t> pads, PadMode mode, float value, Tensor& out);

void upsample_nearest2x(const Tensor& x, Tensor& out);
void upsample_nearest2x_nhwc(const Tensor& x, Tensor& out);
void rgba8_to_image(const Tensor& rgba, Tensor& out);
void image_to_rgba8(const Tensor& image, Tensor& out);
void avg_pool2d(const Tensor& x, const Pool2dParams& params, Tensor& out);
void max_pool2d(const Tensor& x, const Pool2dParams& params, Tensor& out);

void embedding(const Tensor& ids, const Tensor& weight, Tensor& out);
void rope(const Tensor& x, std::span<const std::int64_t> positions, const RopeOptions& options, Tensor& out);
// rope's cos / sin tables, [positions][rot / 2] each; the CUDA backend uploads
// the same tables so both backends rotate identically.
struct RopeTables {
  std::vector<float> cos, sin;
};
RopeTables rope_tables(std::span<const std::int64_t> positions, std::int64_t rot, float theta);

void cumsum(const Tensor& x, int dim, Tensor& out);
void argmax(const Tensor& x, int dim, Tensor& out);
void topk(const Tensor& x, std::int64_t k, int dim, bool largest, Tensor& values, Tensor& indices);

// [outer, dim, inner] view of a contiguous shape around one axis.
struct AxisSplit {
  std::int64_t outer = 1;
  std::int64_t size = 1;
  std::int64_t inner = 1;
};
AxisSplit split_at(const Shape& shape, int axis);

}  // namespace sc::engine::cpu
