#include "engine/models/siglip/siglip.h"

#include "base/error.h"

namespace sc::engine {

SiglipVisionConfig SiglipVisionConfig::llava_onevision_default() {
  SiglipVisionConfig c;
  c.hidden_size = 1152;
  c.intermediate_size = 4304;
  c.num_hidden_layers = 26;
  c.num_attention_heads = 16;
  c.image_size = 384;
  c.patch_size = 14;
  return c;
}

SiglipVisionConfig SiglipVisionConfig::from_config(const Config& config) {
  SiglipVisionConfig c;
  const auto where = [&](const char* field) { return config.path_of(field); };
  const std::string model_type = config.get_or<std::string>("model_type", "siglip_vision_model");
  if (model_type != "siglip_vision_model") {
    throw Error("config '{}': field '{}' is \"{}\"; a SigLIP vision tower (\"siglip_vision_model\") is expected",
                config.source(), where("model_type"), model_type);
  }
  c.hidden_size = config.get_or<std::int64_t>("hidden_size", c.hidden_size);
  c.intermediate_size = config.get_or<std::int64_t>("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = config.get_or<std::int64_t>("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = config.get_or<std::int64_t>("num_attention_heads", c.num_attention_heads);
  c.num_channels = config.get_or<std::int64_t>("num_channels", c.num_channels);
  c.image_size = config.get_or<std::int64_t>("image_size", c.image_size);
  c.patch_size = config.get_or<std::int64_t>("patch_size", c.patch_size);
  c.hidden_act = config.get_or<std::string>("hidden_act", c.hidden_act);
  c.layer_norm_eps = config.get_or("layer_norm_eps", c.layer_norm_eps);
  for (const auto& [field, value] :
       {std::pair{"hidden_size", c.hidden_size}, std::pair{"intermediate_size", c.intermediate_size},
        std::pair{"num_hidden_layers", c.num_hidden_layers}, std::pair{"num_attention_heads", c.num_attention_heads},
        std::pair{"num_channels", c.num_channels}, std::pair{"image_size", c.image_size},
        std::pair{"patch_size", c.patch_size}}) {
    if (value <= 0)
      throw Error("config '{}': field '{}' is {}; it must be positive", config.source(), where(field), value);
  }
  if (c.hidden_size % c.num_attention_heads != 0) {
    throw Error("config '{}': {} is {}, not a multiple of {} ({})", config.source(), where("hidden_size"),
                c.hidden_size, where("num_attention_heads"), c.num_attention_heads);
  }
  // 384 / 14 is not whole: the stride-14 convolution gives floor(384 / 14)
  // = 27 patches a side and never reads the last 6 pixels, as in PyTorch.
  if (c.image_size < c.patch_size) {
    throw Error("config '{}': {} is {}, smaller than {} ({})", config.source(), where("image_size"), c.image_size,
                where("patch_size"), c.patch_size);
  }
  parse_activation(c.hidden_act, config.source(), where("hidden_act"));
  return c;
}

SiglipVisionModel SiglipVisionModel::load(WeightSource& w, const SiglipVisionConfig& c, const std::string& prefix) {
  SiglipVisionModel m;
  m.config_ = c;
  m.act_ = parse_activation(c.hidden_act, w.source(), "hidden_act");
  const std::int64_t d = c.hidden_size;
  m.patch_embedding_ =
      Conv2d::load(w, join_name(prefix, "embeddings.patch_embedding"), c.num_channels, d, c.patch_size, c.patch_size);
  m.position_embedding_ = w.get(join_name(prefix, "embeddings.position_embedding.weight"), {c.patches(), d});
  w.ignore(join_name(prefix, "embeddings.position_ids"));  // a buffer older transformers saved
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = join_name(prefix, "encoder.layers." + std::to_string(i)) + ".";
    m.layers_.push_back(EncoderLayer::load(w, p, d, c.intermediate_size, c.layer_norm_eps));
  }
  // Stored by every checkpoint, used by no LLaVA-OneVision feature.
  const std::string post = join_name(prefix, "post_layernorm.");
  const std::string head = join_name(prefix, "head.");
  for (const std::string& name : w.names()) {
    if (name.starts_with(post) || name.starts_with(head)) w.ignore(name);
  }
  return m;
}

Tensor SiglipVisionModel::forward(const Tensor& pixels, std::int64_t layer) const {
  const SiglipVisionConfig& c = config_;
  if (!pixels.defined() || pixels.rank() != 4 || pixels.dim(1) != c.num_channels || pixels.dim(2) != c.image_size ||
      pixels.dim(3) != c.image_size || pixels.dim(0) == 0) {
    throw Error("SigLIP: pixels must be [frames, {}, {}, {}], got {}", c.num_channels, c.image_size, c.image_size,
                pixels.defined() ? pixels.describe() : "undefined");
  }
  const std::int64_t count = static_cast<std::int64_t>(layers_.size());
  if (layer < -(count + 1) || layer > count) {
    throw Error("SigLIP: feature layer {} is out of range: the tower has {} layers ({}..{})", layer, count,
                -(count + 1), count);
  }
  const std::int64_t last = layer < 0 ? count + 1 + layer : layer;  // layers to run
  const std::int64_t n = pixels.dim(0), d = c.hidden_size;
  // [N, D, side, side] -> [N, patches, D], patches in row-major order.
  Tensor x = transpose(patch_embedding_(pixels).reshape({n, d, c.patches()}), 1, 2);
  x = add(x, position_embedding_);
  for (std::int64_t i = 0; i < last; ++i) {
    x = layers_[static_cast<std::size_t>(i)](x, c.num_attention_heads, /*causal=*/false, act_);
  }
  return x;
}

}  // namespace sc::engine
