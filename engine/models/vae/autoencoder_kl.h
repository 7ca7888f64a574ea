#pragma once
// AutoencoderKL (the Stable Diffusion VAE) as diffusers computes it.
// encode: image [N, 3, H, W] in [-1, 1] -> the latent distribution's mean and
// log-variance [N, 4, H/8, W/8] each (quant_conv applied); decode: latents
// (already divided by scaling_factor) -> image. Pipelines multiply the
// encoder's latents by scaling_factor and divide before decoding.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/models/blocks.h"

namespace sc::engine {

struct AutoencoderKlConfig {
  std::int64_t in_channels = 3;
  std::int64_t out_channels = 3;
  std::int64_t latent_channels = 4;
  std::vector<std::int64_t> block_out_channels{128, 256, 512, 512};
  std::int64_t layers_per_block = 2;
  std::int64_t norm_num_groups = 32;
  float scaling_factor = 0.18215f;
  bool use_quant_conv = true;
  bool use_post_quant_conv = true;

  static AutoencoderKlConfig from_config(const Config& config);
};

class AutoencoderKl {
 public:
  struct Moments {
    Tensor mean, logvar;
  };

  static AutoencoderKl load(WeightSource& weights, const AutoencoderKlConfig& config);
  static AutoencoderKl load(const std::filesystem::path& folder, const std::string& variant = "",
                            const Placement& placement = {});

  Moments encode(const Tensor& image) const;
  Tensor decode(const Tensor& latents) const;
  // What img2img pipelines use: the distribution's mean times scaling_factor,
  // and decoding of latents in that scaled space.
  Tensor encode_scaled(const Tensor& image) const { return scale(encode(image).mean, config_.scaling_factor); }
  Tensor decode_scaled(const Tensor& latents) const { return decode(scale(latents, 1.0f / config_.scaling_factor)); }
  const AutoencoderKlConfig& config() const { return config_; }

 private:
  struct Stage {
    std::vector<ResnetBlock2d> resnets;
    std::vector<Downsample2d> down;  // zero or one
    std::vector<Upsample2d> up;      // zero or one
  };
  struct Mid {
    ResnetBlock2d first, second;
    SpatialSelfAttention attention;
  };

  AutoencoderKlConfig config_;
  Conv2d enc_in_, enc_out_, dec_in_, dec_out_, quant_, post_quant_;
  std::vector<Stage> enc_stages_, dec_stages_;
  Mid enc_mid_, dec_mid_;
  GroupNorm enc_norm_, dec_norm_;
};

}  // namespace sc::engine
