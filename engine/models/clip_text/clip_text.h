#pragma once
// CLIPTextModel as transformers computes it, for what diffusers feeds the
// UNet: last_hidden_state (after the final layer norm) of the token ids,
// causal self-attention, no padding mask (Stable Diffusion pipelines pass
// none). SD 1.5: 12 layers of 768, quick_gelu; SD 2.x / sd-turbo: 23 layers
// of 1024, gelu.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/models/layers.h"

namespace sc::engine {

struct ClipTextConfig {
  std::int64_t vocab_size = 49408;
  std::int64_t hidden_size = 768;
  std::int64_t intermediate_size = 3072;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";  // or "gelu"
  float layer_norm_eps = 1e-5f;

  static ClipTextConfig from_config(const Config& config);
};

class ClipTextModel {
 public:
  // Keys as published ("text_model.embeddings...."), or without the
  // "text_model." prefix (transformers 5's in-memory names).
  static ClipTextModel load(WeightSource& weights, const ClipTextConfig& config);
  // A text_encoder/ folder: config.json + model[.variant].safetensors.
  static ClipTextModel load(const std::filesystem::path& folder, const std::string& variant = "",
                            const Placement& placement = {});

  // ids: i32/i64 [B, S], S <= max_position_embeddings -> [B, S, hidden].
  Tensor forward(const Tensor& ids) const;
  const ClipTextConfig& config() const { return config_; }

 private:
  ClipTextConfig config_;
  Activation act_ = Activation::kQuickGelu;
  Tensor token_embedding_, position_embedding_;
  std::vector<EncoderLayer> layers_;
  LayerNorm final_norm_;
};

}  // namespace sc::engine
