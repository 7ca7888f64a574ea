#pragma once
// Convolution through cuDNN when the library is present at run time
// (dlopen of libcudnn.so.9: cuDNN is not a build or install requirement).
// Used by engine/cuda/gemm.cu's conv2d; im2col + cuBLASLt runs otherwise.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/tensor.h"

namespace sc::engine::cuda {

// Everything that decides how a convolution runs (dtype, shapes, params):
// the key of the per-shape caches (cuDNN plans, the cuDNN-or-im2col choice).
using ConvShapeKey = std::array<std::int64_t, 16>;
ConvShapeKey conv_shape_key(const Tensor& x, const Tensor& weight, const Conv2dParams& params, bool nhwc = false);

// out = conv(x, weight) + beta * out, NCHW / OIHW or, with nhwc, NHWC / OHWI.
// False when cuDNN is not loaded, is switched off (SC_CUDNN=0) or declines
// this shape; the caller falls back. A shape's first call outside a graph
// capture times cuDNN's algorithms on it and keeps the fastest.
bool cudnn_conv2d(const Tensor& x, const Tensor& weight, const Conv2dParams& params, float beta, Tensor& out,
                  bool nhwc = false);

// out = conv3d(x, weight) + beta * out, NCDHW / OIDHW; false as above (and
// where this cuDNN lacks the N-d descriptor calls).
bool cudnn_conv3d(const Tensor& x, const Tensor& weight, const Conv3dParams& params, float beta, Tensor& out);

// How conv2d (NCHW) runs a shape: chosen by timing on the shape's first call
// (kAuto), or forced (tests run every implementation; benchmarks compare).
enum class ConvImpl { kAuto, kIm2col, kCudnn, kCudnnNhwc };
void force_conv_impl(ConvImpl impl);

// One line per convolution shape planned so far: cuDNN's algorithm and how it
// was chosen, and conv2d's cuDNN-or-im2col timing (benchmarks print them).
std::vector<std::string> conv_notes();
void add_conv_note(std::string note);

// "cuDNN 9.x.y" or why not ("not found", "off (SC_CUDNN=0)").
std::string cudnn_status();
// Turns the cuDNN path off and on at run time (benchmarks compare the two).
void set_cudnn_enabled(bool enabled);
bool cudnn_enabled();

}  // namespace sc::engine::cuda
