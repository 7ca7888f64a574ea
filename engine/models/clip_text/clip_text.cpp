#include "engine/models/clip_text/clip_text.h"

#include "base/error.h"
#include "engine/models/folder_loader.h"

namespace sc::engine {

ClipTextConfig ClipTextConfig::from_config(const Config& config) {
  ClipTextConfig c;
  c.vocab_size = config.get<std::int64_t>("vocab_size");
  c.hidden_size = config.get<std::int64_t>("hidden_size");
  c.intermediate_size = config.get<std::int64_t>("intermediate_size");
  c.num_hidden_layers = config.get<std::int64_t>("num_hidden_layers");
  c.num_attention_heads = config.get<std::int64_t>("num_attention_heads");
  c.max_position_embeddings = config.get_or<std::int64_t>("max_position_embeddings", 77);
  c.hidden_act = config.get_or<std::string>("hidden_act", "quick_gelu");
  c.layer_norm_eps = config.get_or("layer_norm_eps", 1e-5f);
  if (c.hidden_act != "quick_gelu" && c.hidden_act != "gelu") {
    throw Error("{}: hidden_act: expected \"quick_gelu\" or \"gelu\", found \"{}\"", config.source(), c.hidden_act);
  }
  if (c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0) {
    throw Error("{}: hidden_size {} is not a multiple of num_attention_heads {}", config.source(), c.hidden_size,
                c.num_attention_heads);
  }
  return c;
}

ClipTextModel ClipTextModel::load(WeightSource& w, const ClipTextConfig& c) {
  ClipTextModel m;
  m.config_ = c;
  const std::string root = w.contains("text_model.final_layer_norm.weight") ? "text_model." : "";
  const std::int64_t d = c.hidden_size;
  // A buffer older transformers saved; positions are always 0..S-1 here.
  w.ignore(root + "embeddings.position_ids");
  m.token_embedding_ = w.get(root + "embeddings.token_embedding.weight", {c.vocab_size, d});
  m.position_embedding_ = w.get(root + "embeddings.position_embedding.weight", {c.max_position_embeddings, d});
  m.act_ = parse_activation(c.hidden_act, w.source(), "hidden_act");
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = root + "encoder.layers." + std::to_string(i) + ".";
    m.layers_.push_back(EncoderLayer::load(w, p, d, c.intermediate_size, c.layer_norm_eps));
  }
  m.final_norm_ = LayerNorm::load(w, root + "final_layer_norm", d, c.layer_norm_eps);
  return m;
}

ClipTextModel ClipTextModel::load(const std::filesystem::path& folder, const std::string& variant,
                                  const Placement& placement) {
  return load_model_folder<ClipTextModel, ClipTextConfig>(folder, variant, placement, "CLIPTextModel");
}

Tensor ClipTextModel::forward(const Tensor& ids) const {
  if (ids.rank() != 2) throw Error("CLIPTextModel: ids must be [batch, tokens], got {}", ids.describe());
  const std::int64_t s = ids.dim(1);
  if (s > config_.max_position_embeddings) {
    throw Error("CLIPTextModel: {} tokens, at most {} fit", s, config_.max_position_embeddings);
  }
  // Token ids usually come from the host tokenizer: they follow the weights.
  Tensor x = add(embedding(ids.to(token_embedding_.device()), token_embedding_), position_embedding_.slice(0, 0, s));
  for (const EncoderLayer& l : layers_) x = l(x, config_.num_attention_heads, /*causal=*/true, act_);
  return final_norm_(x);
}

}  // namespace sc::engine
