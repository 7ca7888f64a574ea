#pragma once
// The CUDA backend's kernels, one per op of engine/ops.h. engine/ops.cpp has
// checked every argument and allocated `out` on the GPU with the right shape
// and dtype; kernels only compute, on the engine's stream (runtime.h).
// Storage is f32, f16 or bf16 (all inputs of an op share it); arithmetic
// accumulates in f32. Matrix products go through cuBLASLt, convolution through
// an im2col + cuBLASLt GEMM (a 1x1 convolution is the GEMM alone), attention
// through the project's own tiled online-softmax kernel (tensor cores for
// f16/bf16).
#include <cstdint>
#include <span>

#include "engine/cpu/kernels.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace sc::engine::cuda {

using cpu::BinaryOp;
using cpu::UnaryOp;

void to_dtype(const Tensor& x, Tensor& out);

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);
void matmul(const Tensor& a, const Tensor& b, Tensor& out);
void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params, Tensor& out);
void conv2d_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params, Tensor& out);

void group_norm(const Tensor& x, std::int64_t groups, const Tensor& weight, const Tensor& bias, float eps, bool silu,
                Tensor& out);
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out);
void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out);
void softmax(const Tensor& x, int dim, Tensor& out);

void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& mask, float scale,
               Tensor& out);

void unary(UnaryOp op, const Tensor& x, float param, Tensor& out);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
void geglu(const Tensor& x, Tensor& out);

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

void cumsum(const Tensor& x, int dim, Tensor& out);
void argmax(const Tensor& x, int dim, Tensor& out);
void topk(const Tensor& x, std::int64_t k, int dim, bool largest, Tensor& values, Tensor& indices);

}  // namespace sc::engine::cuda
