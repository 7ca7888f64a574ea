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

// The MLP activations transformers' encoder layers name in hidden_act.
enum class Activation {
  kGelu,       // "gelu": erf
  kGeluTanh,   // "gelu_pytorch_tanh" (SigLIP)
  kQuickGelu,  // "quick_gelu": x * sigmoid(1.702 x) (CLIP ViT-L/14, SD 1.5's text encoder)
};
// `value` of config field `field`; throws naming the source, the field and
// the names accepted.
Activation parse_activation(const std::string& value, const std::string& source, const std::string& field);
Tensor activate(const Tensor& x, Activation act);

// One encoder layer of CLIP's and SigLIP's transformers (CLIPEncoderLayer,
// SiglipEncoderLayer, the same shape): x + out(attn(layer_norm1(x))), then
// x + fc2(act(fc1(layer_norm2(x)))); q / k / v / out and fc1 / fc2 with bias.
// Names under `prefix`: layer_norm1, self_attn.{q,k,v,out}_proj,
// layer_norm2, mlp.fc1, mlp.fc2.
struct EncoderLayer {
  LayerNorm norm1, norm2;
  Linear q, k, v, out, fc1, fc2;
  static EncoderLayer load(WeightSource& w, const std::string& prefix, std::int64_t hidden, std::int64_t intermediate,
                           float eps);
  // x [B, S, hidden]; causal: CLIP's text model; not causal: vision towers.
  Tensor operator()(const Tensor& x, std::int64_t heads, bool causal, Activation act) const;
};

// [B, S, H * D] -> [B, H, S, D] and back, for multi-head attention.
Tensor split_heads(const Tensor& x, std::int64_t heads);
Tensor merge_heads(const Tensor& x);

}  // namespace sc::engine
