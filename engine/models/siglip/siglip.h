#pragma once
// SigLIP's vision tower (transformers' SiglipVisionModel, modeling_siglip.py)
// as LLaVA-OneVision uses it: a patch_size x patch_size stride-patch_size
// convolution over the normalised image, a learned position table (one row
// per patch, no class token), then encoder layers of CLIP's shape (pre
// LayerNorm, bias everywhere, gelu_pytorch_tanh), not causal. The output is
// hidden_states[layer] as transformers counts them: 0 is the embeddings, i the
// output of encoder layer i, -1 the last layer's output (before
// post_layernorm, which LLaVA-OneVision does not apply). Only the layers up
// to the requested one run. The attention-pooling head and post_layernorm
// are not computed; their stored weights are accepted and ignored.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/models/layers.h"

namespace sc::engine {

struct SiglipVisionConfig {
  // SiglipVisionConfig's own defaults (a vision_config that omits a field).
  std::int64_t hidden_size = 768;
  std::int64_t intermediate_size = 3072;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t num_channels = 3;
  std::int64_t image_size = 224;
  std::int64_t patch_size = 16;
  std::string hidden_act = "gelu_pytorch_tanh";
  float layer_norm_eps = 1e-6f;

  // SigLIP so400m cut to 26 layers: what LlavaOnevisionConfig builds when a
  // config has no vision_config.
  static SiglipVisionConfig llava_onevision_default();
  // A vision_config object (or a SiglipVisionModel's config.json); missing
  // fields take SiglipVisionConfig's defaults. Errors name the file and field.
  static SiglipVisionConfig from_config(const Config& config);
  std::int64_t patches_per_side() const { return image_size / patch_size; }
  std::int64_t patches() const { return patches_per_side() * patches_per_side(); }
};

class SiglipVisionModel {
 public:
  // Tensors under `prefix` ("vision_tower.vision_model", ...): embeddings.*,
  // encoder.layers.N.*, post_layernorm.* and head.* (ignored).
  static SiglipVisionModel load(WeightSource& weights, const SiglipVisionConfig& config, const std::string& prefix);

  // pixels [N, channels, image_size, image_size] (normalised, the model's
  // dtype and device) -> hidden_states[layer], [N, patches, hidden]. layer in
  // [-(layers + 1), layers].
  Tensor forward(const Tensor& pixels, std::int64_t layer = -1) const;
  const SiglipVisionConfig& config() const { return config_; }

 private:
  SiglipVisionConfig config_;
  Activation act_ = Activation::kGeluTanh;
  Conv2d patch_embedding_;
  Tensor position_embedding_;  // [patches, hidden]
  std::vector<EncoderLayer> layers_;
};

}  // namespace sc::engine
