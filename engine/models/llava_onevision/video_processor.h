#pragma once
// LLaVA-OneVision's video preprocessing as transformers 4.57 runs it
// (LlavaOnevisionVideoProcessor, video_processing_utils.py, torchvision's
// resize): uint8 RGB frames resized to height x width with antialiased
// bicubic resampling on the uint8 values (what torch does for uint8 on the
// CPU: Pillow's fixed-point filter, int16 weights, a uint8 horizontal pass
// then a uint8 vertical pass), then the fused rescale and normalise in f32:
// (x - mean / rescale_factor) / (std / rescale_factor). Bit-exact against
// torch's CPU kernel on the golden fixture; torch on a GPU resizes in float
// and may differ by one level.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/config.h"
#include "engine/tensor.h"

namespace sc::engine {

struct VideoProcessorConfig {
  // LlavaOnevisionVideoProcessor's class defaults (CLIP's mean and std).
  std::int64_t height = 384, width = 384;
  bool do_resize = true, do_rescale = true, do_normalize = true;
  double rescale_factor = 1.0 / 255.0;
  std::array<float, 3> image_mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> image_std{0.26862954f, 0.26130258f, 0.27577711f};

  // The fields of a preprocessor JSON over the defaults. size must be
  // {"height", "width"}; resample must be 3 (bicubic). Errors name the file
  // and the field.
  static VideoProcessorConfig from_config(const Config& config);
  // What transformers reads from a model folder: video_preprocessor_config.json,
  // else preprocessor_config.json, else processor_config.json (its
  // "video_processor" object), else the defaults.
  static VideoProcessorConfig load(const std::filesystem::path& folder);
};

// Antialiased bicubic resize of interleaved uint8 pixels [h, w, channels]
// to [out_h, out_w, channels], as torch.nn.functional.interpolate(mode=
// "bicubic", antialias=True, align_corners=False) computes it on uint8 on
// the CPU. An axis whose size does not change is not filtered.
void resize_bicubic_antialias_u8(const std::uint8_t* in, std::int64_t h, std::int64_t w, std::int64_t channels,
                                 std::uint8_t* out, std::int64_t out_h, std::int64_t out_w);

// frames: u8 [F, H, W, 3] RGB on the host -> f32 [F, 3, height, width] on
// the host, what the model's pixel_values_videos holds for one video.
Tensor preprocess_video(const Tensor& frames, const VideoProcessorConfig& config);

}  // namespace sc::engine
