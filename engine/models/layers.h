#pragma once
// Building blocks the diffusion models share: each holds its weights (loaded
// by name and shape through a WeightSource) and runs through engine/ops.h.
#include <cstdint>
#include <string>

#include "engine/models/weights.h"
#include "engine/ops.h"

namespace sc::engine {

struct Linear {
  Tensor weight, bias;
  static Linear load(WeightSource& w, const std::string& name, std::int64_t in, std::int64_t out, bool bias = true);
  Tensor operator()(const Tensor& x) const { return linear(x, weight, bias); }
};

struct Conv2d {
  Tensor weight, bias;
  Conv2dParams params;
  static Conv2d load(WeightSource& w, const std::string& name, std::int64_t in, std::int64_t out, std::int64_t kernel,
                     std::int64_t stride = 1, std::int64_t padding = 0, bool bias = true);
  Tensor operator()(const Tensor& x) const { return conv2d(x, weight, bias, params); }
};

struct LayerNorm {
  Tensor weight, bias;
  float eps = 1e-5f;
  static LayerNorm load(WeightSource& w, const std::string& name, std::int64_t dim, float eps);
  Tensor operator()(const Tensor& x) const { return layer_norm(x, weight, bias, eps); }
};

struct GroupNorm {
  Tensor weight, bias;
  std::int64_t groups = 32;
  float eps = 1e-6f;
  static GroupNorm load(WeightSource& w, const std::string& name, std::int64_t channels, std::int64_t groups,
                        float eps);
  Tensor operator()(const Tensor& x) const { return group_norm(x, groups, weight, bias, eps); }
  // silu(norm(x)) in one pass.
  Tensor with_silu(const Tensor& x) const { return group_norm(x, groups, weight, bias, eps, true); }
};

// [B, S, H * D] -> [B, H, S, D] and back, for multi-head attention.
Tensor split_heads(const Tensor& x, std::int64_t heads);
Tensor merge_heads(const Tensor& x);

}  // namespace sc::engine
