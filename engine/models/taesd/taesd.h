#pragma once
// AutoencoderTiny (TAESD, madebyollin/taesd) as diffusers computes it:
// encoder image [N, 3, H, W] in [-1, 1] -> latents [N, 4, H/8, W/8];
// decoder latents -> image in [-1, 1]. Loads a diffusers folder
// (config.json + diffusion_pytorch_model[.fp16].safetensors, keys
// encoder.layers.* / decoder.layers.*) or the original release's
// taesd_encoder.safetensors + taesd_decoder.safetensors (keys without the
// prefix, decoder indices one higher because the original starts with a clamp).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/models/weights.h"
#include "engine/tensor.h"

namespace sc::engine {

struct TaesdConfig {
  std::int64_t in_channels = 3;
  std::int64_t out_channels = 3;
  std::int64_t latent_channels = 4;
  std::vector<std::int64_t> encoder_block_out_channels{64, 64, 64, 64};
  std::vector<std::int64_t> decoder_block_out_channels{64, 64, 64, 64};
  std::vector<std::int64_t> num_encoder_blocks{1, 3, 3, 3};
  std::vector<std::int64_t> num_decoder_blocks{3, 3, 3, 1};
  float latent_magnitude = 3.0f;
  float latent_shift = 0.5f;
  float scaling_factor = 1.0f;

  // Fields absent from the file keep the defaults above (the published TAESD).
  static TaesdConfig from_config(const Config& config);
};

// One entry of TAESD's nn.Sequential.
struct TaesdLayer {
  enum class Kind { kConv, kBlock, kRelu, kUpsample };
  Kind kind = Kind::kConv;
  std::int64_t stride = 1;
  Tensor weight, bias;        // kConv (bias may be undefined)
  std::vector<Tensor> block;  // kBlock: conv.0/2/4 weight, bias (6)
  Tensor skip;                // kBlock: 1x1 conv when channels change
};

class TaesdEncoder {
 public:
  // prefix: "encoder.layers" (diffusers) or "" (original); offset: added to
  // each layer index when naming weights.
  static TaesdEncoder load(WeightSource& weights, const TaesdConfig& config, const std::string& prefix,
                           int index_offset = 0);
  Tensor forward(const Tensor& image) const;
  // Channels-last: activations NHWC and weights OHWI between the first and
  // the last layer (conv2d_nhwc), inputs and outputs NCHW as ever. On by
  // default for weights on a GPU, where cuDNN's tensor-core kernels want it.
  void set_channels_last(bool on);
  bool channels_last() const { return channels_last_; }

 private:
  std::vector<TaesdLayer> layers_;
  bool channels_last_ = false;
};

class TaesdDecoder {
 public:
  static TaesdDecoder load(WeightSource& weights, const TaesdConfig& config, const std::string& prefix,
                           int index_offset = 0);
  Tensor forward(const Tensor& latents) const;
  void set_channels_last(bool on);  // as TaesdEncoder's
  bool channels_last() const { return channels_last_; }

 private:
  std::vector<TaesdLayer> layers_;
  bool channels_last_ = false;
};

struct Taesd {
  TaesdConfig config;
  TaesdEncoder encoder;
  TaesdDecoder decoder;

  // A TAESD folder in either layout; variant "fp16" prefers *.fp16.safetensors.
  static Taesd load(const std::filesystem::path& folder, const std::string& variant = "",
                    const Placement& placement = {});
  static Taesd load(WeightSource& weights, const TaesdConfig& config);
  void set_channels_last(bool on) {
    encoder.set_channels_last(on);
    decoder.set_channels_last(on);
  }
};

}  // namespace sc::engine
