#pragma once
// Convolution through cuDNN when the library is present at run time
// (dlopen of libcudnn.so.9: cuDNN is not a build or install requirement).
// Used by engine/cuda/gemm.cu's conv2d; im2col + cuBLASLt runs otherwise.
#include <array>
#include <cstdint>
#include <string>

#include "engine/ops.h"
#include "engine/tensor.h"

namespace sc::engine::cuda {

// Everything that decides how a convolution runs (dtype, shapes, params):
// the key of the per-shape caches (cuDNN plans, the cuDNN-or-im2col choice).
using ConvShapeKey = std::array<std::int64_t, 15>;
ConvShapeKey conv_shape_key(const Tensor& x, const Tensor& weight, const Conv2dParams& params);

// out = conv(x, weight) + beta * out. False when cuDNN is not loaded, is
// switched off (SC_CUDNN=0) or declines this shape; the caller falls back.
bool cudnn_conv2d(const Tensor& x, const Tensor& weight, const Conv2dParams& params, float beta, Tensor& out);

// "cuDNN 9.x.y" or why not ("not found", "off (SC_CUDNN=0)").
std::string cudnn_status();
// Turns the cuDNN path off and on at run time (benchmarks compare the two).
void set_cudnn_enabled(bool enabled);
bool cudnn_enabled();

}  // namespace sc::engine::cuda
