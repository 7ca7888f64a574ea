#pragma once
// UNet2DConditionModel as diffusers computes it for SD 1.5 and SD 2.x /
// sd-turbo: sinusoidal timestep embedding -> MLP; conv_in; down blocks
// (CrossAttnDownBlock2D / DownBlock2D) whose outputs are kept as skips; the
// cross-attention mid block; up blocks that concatenate the skips; GroupNorm,
// SiLU, conv_out. Heads per block follow diffusers' reading of
// attention_head_dim (a head count, see unet_2d_condition.py);
// use_linear_projection picks linear vs 1x1-conv proj_in/proj_out.
// upcast_attention only changes precision on fp16 backends: the CPU computes
// attention in f32 either way.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/models/blocks.h"

namespace sc::engine {

struct UNetConfig {
  std::int64_t in_channels = 4;
  std::int64_t out_channels = 4;
  std::vector<std::int64_t> block_out_channels{320, 640, 1280, 1280};
  std::vector<std::string> down_block_types;
  std::vector<std::string> up_block_types;
  std::int64_t layers_per_block = 2;
  std::vector<std::int64_t> heads;               // per down block
  std::vector<std::int64_t> transformer_layers;  // per down block
  std::int64_t cross_attention_dim = 768;
  std::int64_t norm_num_groups = 32;
  float norm_eps = 1e-5f;
  bool use_linear_projection = false;
  bool upcast_attention = false;
  bool flip_sin_to_cos = true;
  float freq_shift = 0.0f;

  static UNetConfig from_config(const Config& config);
};

// The sinusoidal embedding of timesteps [N] -> [N, dim] (diffusers'
// get_timestep_embedding, computed in f32 like it).
Tensor timestep_embedding(std::span<const float> timesteps, std::int64_t dim, bool flip_sin_to_cos, float freq_shift);

class UNet2DCondition {
 public:
  static UNet2DCondition load(WeightSource& weights, const UNetConfig& config);
  static UNet2DCondition load(const std::filesystem::path& folder, const std::string& variant = "",
                              const Placement& placement = {});

  // sample [N, in, H, W] (H and W multiples of 2^(blocks - 1)); timesteps: one
  // per sample, or one for all; context [N, S, cross_attention_dim].
  Tensor forward(const Tensor& sample, std::span<const float> timesteps, const Tensor& context) const;
  // The same with the sinusoidal embedding t_emb [N, block_out_channels[0]]
  // already made (timestep_embedding, on sample's device and dtype): no host
  // data is touched, so a CUDA graph can capture it.
  Tensor forward_embedded(const Tensor& sample, const Tensor& t_emb, const Tensor& context) const;
  const UNetConfig& config() const { return config_; }
  // Where the weights live and how they are stored (CPU f32 unless placed
  // elsewhere at load, see WeightSource::set_placement).
  Device device() const { return conv_in_.weight.defined() ? conv_in_.weight.device() : Device::kCpu; }
  DType dtype() const { return conv_in_.weight.defined() ? conv_in_.weight.dtype() : DType::kF32; }

  struct TransformerBlock {
    LayerNorm norm1, norm2, norm3;
    Linear q1, k1, v1, out1, q2, k2, v2, out2, ff_in, ff_out;
  };
  struct Transformer2d {
    GroupNorm norm;
    bool linear_projection = false;
    Linear proj_in_linear, proj_out_linear;
    Conv2d proj_in_conv, proj_out_conv;
    std::vector<TransformerBlock> blocks;
    std::int64_t heads = 1;
  };
  struct Stage {
    std::vector<ResnetBlock2d> resnets;
    std::vector<Transformer2d> attentions;  // empty, or one per resnet
    std::vector<Downsample2d> down;
    std::vector<Upsample2d> up;
  };

 private:
  UNetConfig config_;
  Linear time_linear1_, time_linear2_;
  Conv2d conv_in_, conv_out_;
  std::vector<Stage> down_, up_;
  ResnetBlock2d mid_first_, mid_second_;
  Transformer2d mid_attention_;
  GroupNorm norm_out_;
};

}  // namespace sc::engine
