#pragma once
// The CUDA backend's kernels: every entry of engine/op_list.inc whose cuda
// column says KERNEL, declared from that list (never by hand, so this backend
// and the CPU's cannot drift apart). engine/ops.cpp has checked every argument
// and allocated `out` on the GPU with the right shape and dtype; kernels only
// compute, on the engine's stream (runtime.h). Storage is f32, f16 or bf16
// (all inputs of an op share it); arithmetic accumulates in f32. Matrix
// products go through cuBLASLt; conv2d picks per shape, by timing its first
// call, among im2col + cuBLASLt GEMM (a 1x1 convolution is the GEMM alone),
// cuDNN on NCHW and cuDNN's channels-last kernels between transposes, where
// cuDNN is loaded at run time (cudnn_conv.h; without it, im2col);
// conv2d_nhwc is cuDNN's NHWC kernel, else conv2d between transposes;
// attention is the project's own tiled online-softmax kernel (tensor cores
// for f16/bf16). engine/cuda/README.md lists each file.
#include <cstdint>
#include <span>

#include "engine/cpu/kernels.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace sc::engine::cuda {

// The kernel selectors are the CPU backend's: ops.cpp hands the same value to
// either backend.
using cpu::BinaryOp;
using cpu::ReduceOp;
using cpu::UnaryOp;

#define SC_OP(Enum, kernel, cpu, cuda, params) SC_OP_DECLARE_##cuda(kernel, params)
#include "engine/op_list.inc"

}  // namespace sc::engine::cuda
