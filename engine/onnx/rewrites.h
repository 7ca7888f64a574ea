#pragma once
// Graph-to-graph passes run once at load, each keeping the graph's outputs
// what they were (tests/engine/onnx_rewrites_test.cpp runs every graph with
// and without them). They expect the nodes in topological order and keep it.
#include <cstddef>
#include <cstdint>

#include "engine/onnx/reader.h"

namespace sc::engine::onnx {

// Nodes whose inputs are all initializers (or outputs of such nodes) are
// computed now and become initializers (none bigger than max_value_bytes,
// 0: no limit). Returns the nodes removed.
std::size_t fold_constants(Model& model, std::uint64_t max_value_bytes = 0);
// Identity, and Dropout without a used mask, read through. Returns the nodes removed.
std::size_t remove_identities(Model& model);
// Conv (weight and bias initializers) followed only by an inference
// BatchNormalization with initializer statistics: one Conv with the
// normalisation folded into its weight and bias.
std::size_t fuse_batchnorm(Model& model);
// MatMul by a 2-D weight initializer [K, N] followed only by an Add of a bias
// initializer [N]: one linear with bias (the weight stored transposed,
// [N, K], as engine linear reads it).
std::size_t fuse_matmul_add(Model& model);
// MatMul(Q, Transpose(K)) [* or / scalar constants, also on Q and K^T] ->
// Softmax(axis -1) -> MatMul(., V), every intermediate read once: one
// attention with the factors as its scale (the Transpose kept only where K
// needs a permutation other than the swap). The lowering runs the engine's
// attention where q, k and v share their leading dims, and the three ops
// otherwise. Opset 13 and later.
std::size_t fuse_attention(Model& model);
// SiLU written as Mul(x, Sigmoid(x)) -> one silu; GroupNorm as exporters
// before opset 18 write it (Reshape, InstanceNormalization of ones / zeros,
// Reshape back, Mul, Add) -> one group_norm; and a norm read only by a SiLU
// -> the norm with the SiLU fused in (group_norm's fuse_silu). Returns the
// fusions made.
std::size_t fuse_norm_activation(Model& model);
// Initializers no node reads and no graph output names (their pages of the
// file given back: a weight transposed at load is not held twice).
std::size_t drop_unused_initializers(Model& model);

}  // namespace sc::engine::onnx
