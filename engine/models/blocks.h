#pragma once
// diffusers' shared 2D blocks (ResnetBlock2D, the spatial self-attention of
// the VAE, Downsample2D, Upsample2D), used by AutoencoderKL and the UNet.
#include <cstdint>
#include <string>

#include "engine/models/layers.h"

namespace sc::engine {

struct ResnetBlock2d {
  GroupNorm norm1, norm2;
  Conv2d conv1, conv2, shortcut;  // shortcut: 1x1, only when channels change
  Linear time_emb_proj;           // only with a time embedding (UNet)

  // temb_channels 0: no time embedding.
  static ResnetBlock2d load(WeightSource& w, const std::string& name, std::int64_t in, std::int64_t out,
                            std::int64_t temb_channels, std::int64_t groups, float eps);
  // temb: [N, temb_channels] or undefined.
  Tensor operator()(const Tensor& x, const Tensor& temb = Tensor()) const;
};

// The VAE's mid-block attention: GroupNorm, one head over all H*W positions,
// residual. Accepts the pre-0.14 diffusers names (query/key/value/proj_attn)
// that older VAE files still carry.
struct SpatialSelfAttention {
  GroupNorm norm;
  Linear q, k, v, out;
  std::int64_t heads = 1;

  static SpatialSelfAttention load(WeightSource& w, const std::string& name, std::int64_t channels,
                                   std::int64_t head_dim, std::int64_t groups, float eps);
  Tensor operator()(const Tensor& x) const;
};

// Stride-2 3x3 conv. pad_right_bottom: the VAE encoder's asymmetric (0, 1, 0,
// 1) padding instead of padding 1 on every side (the UNet's).
struct Downsample2d {
  Conv2d conv;
  bool pad_right_bottom = false;
  static Downsample2d load(WeightSource& w, const std::string& name, std::int64_t channels, bool pad_right_bottom);
  Tensor operator()(const Tensor& x) const;
};

// Nearest 2x, then a 3x3 conv.
struct Upsample2d {
  Conv2d conv;
  static Upsample2d load(WeightSource& w, const std::string& name, std::int64_t channels);
  Tensor operator()(const Tensor& x) const { return conv(upsample_nearest2x(x)); }
};

}  // namespace sc::engine
