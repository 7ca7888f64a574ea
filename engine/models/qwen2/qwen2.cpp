#include "engine/models/qwen2/qwen2.h"

#include <algorithm>

#include "base/error.h"
#include "engine/models/folder_loader.h"
#include "engine/ops.h"

namespace sc::engine {

Qwen2Config Qwen2Config::from_config(const Config& config) {
  // LLaVA-OneVision (and the other transformers VLMs) nest the language
  // model's config as text_config.
  const bool nested = config.has("text_config");
  const Config t = nested ? config.child("text_config") : config;
  const auto where = [&](const char* field) { return t.path_of(field); };
  const std::string model_type = t.get_or<std::string>("model_type", nested ? "qwen2" : "");
  if (model_type != "qwen2" && !(model_type.empty() && !nested)) {
    throw Error("config '{}': field '{}' is \"{}\"; a Qwen2 language model (\"qwen2\") is expected{}", config.source(),
                where("model_type"), model_type, nested ? "" : " (or a VLM config with a text_config)");
  }
  Qwen2Config c;
  c.vocab_size = t.get<std::int64_t>("vocab_size");
  c.hidden_size = t.get<std::int64_t>("hidden_size");
  c.intermediate_size = t.get<std::int64_t>("intermediate_size");
  c.num_hidden_layers = t.get<std::int64_t>("num_hidden_layers");
  c.num_attention_heads = t.get<std::int64_t>("num_attention_heads");
  for (const auto& [field, value] :
       {std::pair{"vocab_size", c.vocab_size}, std::pair{"hidden_size", c.hidden_size},
        std::pair{"intermediate_size", c.intermediate_size}, std::pair{"num_hidden_layers", c.num_hidden_layers},
        std::pair{"num_attention_heads", c.num_attention_heads}}) {
    if (value <= 0)
      throw Error("config '{}': field '{}' is {}; it must be positive", config.source(), where(field), value);
  }
  c.num_key_value_heads = t.get_or<std::int64_t>("num_key_value_heads", c.num_attention_heads);
  if (c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads != 0) {
    throw Error("config '{}': field '{}' is {}; it must divide num_attention_heads ({})", config.source(),
                where("num_key_value_heads"), c.num_key_value_heads, c.num_attention_heads);
  }
  if (!t.has("head_dim") && c.hidden_size % c.num_attention_heads != 0) {
    throw Error("config '{}': hidden_size {} is not a multiple of num_attention_heads {} and no head_dim is given",
                config.source(), c.hidden_size, c.num_attention_heads);
  }
  c.head_dim = t.get_or<std::int64_t>("head_dim", c.hidden_size / c.num_attention_heads);
  if (c.head_dim <= 0 || c.head_dim % 2 != 0) {
    throw Error("config '{}': field '{}' is {}; rotary embedding needs a positive even head size", config.source(),
                where("head_dim"), c.head_dim);
  }
  c.max_position_embeddings = t.get_or<std::int64_t>("max_position_embeddings", 32768);
  c.rms_norm_eps = t.get_or("rms_norm_eps", 1e-6f);
  c.rope_theta = t.get_or("rope_theta", 10000.0f);
  if (!(c.rope_theta > 0.0f)) {
    throw Error("config '{}': field '{}' is {}; it must be positive", config.source(), where("rope_theta"),
                c.rope_theta);
  }
  // transformers reads tying from the text config (get_text_config());
  // Qwen2Config's own default is false.
  c.tie_word_embeddings = t.has("tie_word_embeddings") ? t.get<bool>("tie_word_embeddings")
                                                       : (nested ? config.get_or("tie_word_embeddings", false) : false);
  const std::string act = t.get_or<std::string>("hidden_act", "silu");
  if (act != "silu") {
    throw Error("config '{}': field '{}' is \"{}\"; Qwen2's MLP is SwiGLU (\"silu\")", config.source(),
                where("hidden_act"), act);
  }
  if (t.has("rope_scaling")) {
    throw Error("config '{}': field '{}' is set; scaled rotary embeddings (YaRN, dynamic NTK, ...) are not supported",
                config.source(), where("rope_scaling"));
  }
  if (t.get_or("use_sliding_window", false)) {
    throw Error("config '{}': field '{}' is true; sliding-window attention is not supported", config.source(),
                where("use_sliding_window"));
  }
  return c;
}

Qwen2Names Qwen2Model::find_names(const WeightSource& w) {
  struct Layout {
    const char* body;
    const char* outer;  // where this layout's own lm_head sits
  };
  static constexpr Layout kLayouts[] = {
      {"model", ""}, {"language_model.model", "language_model"}, {"model.language_model", ""}, {"", ""}};
  std::string tried;
  for (const Layout& l : kLayouts) {
    const std::string embed = join_name(l.body, "embed_tokens.weight");
    if (!w.contains(embed)) {
      tried += (tried.empty() ? "" : ", ") + embed;
      continue;
    }
    std::string lm_head = join_name(l.outer, "lm_head.weight");
    if (!w.contains(lm_head) && w.contains("lm_head.weight")) lm_head = "lm_head.weight";
    return {l.body, lm_head};
  }
  throw Error("{}: no Qwen2 language model in it: none of {} is present", w.source(), tried);
}

Qwen2Model Qwen2Model::load(WeightSource& w, const Qwen2Config& c) { return load(w, c, find_names(w)); }

Qwen2Model Qwen2Model::load(WeightSource& w, const Qwen2Config& c, const Qwen2Names& names) {
  Qwen2Model m;
  m.config_ = c;
  const std::int64_t d = c.hidden_size, qd = c.num_attention_heads * c.head_dim,
                     kvd = c.num_key_value_heads * c.head_dim, ff = c.intermediate_size;
  m.embed_tokens_ = w.get(join_name(names.body, "embed_tokens.weight"), {c.vocab_size, d});
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = join_name(names.body, "layers." + std::to_string(i)) + ".";
    Layer l;
    l.input_norm = w.get(p + "input_layernorm.weight", {d});
    l.q = Linear::load(w, p + "self_attn.q_proj", d, qd, true);
    l.k = Linear::load(w, p + "self_attn.k_proj", d, kvd, true);
    l.v = Linear::load(w, p + "self_attn.v_proj", d, kvd, true);
    l.o = Linear::load(w, p + "self_attn.o_proj", qd, d, false);
    // A buffer some older exports saved; the angles are computed here.
    w.ignore(p + "self_attn.rotary_emb.inv_freq");
    l.post_attention_norm = w.get(p + "post_attention_layernorm.weight", {d});
    l.gate = Linear::load(w, p + "mlp.gate_proj", d, ff, false);
    l.up = Linear::load(w, p + "mlp.up_proj", d, ff, false);
    l.down = Linear::load(w, p + "mlp.down_proj", ff, d, false);
    m.layers_.push_back(std::move(l));
  }
  m.norm_ = w.get(join_name(names.body, "norm.weight"), {d});
  if (c.tie_word_embeddings) {
    // transformers ties lm_head to the embedding after loading, whatever a
    // file stores under lm_head.
    m.lm_head_ = m.embed_tokens_;
    w.ignore(names.lm_head);
  } else {
    m.lm_head_ = w.get(names.lm_head, {c.vocab_size, d});
  }
  return m;
}

Qwen2Model Qwen2Model::load(const std::filesystem::path& folder, const Placement& placement) {
  return load_model_folder<Qwen2Model, Qwen2Config>(folder, "", placement, "Qwen2ForCausalLM");
}

KvCache Qwen2Model::make_cache(std::int64_t capacity) const {
  if (capacity > config_.max_position_embeddings) {
    throw Error("Qwen2: a KV cache of {} tokens is longer than the model's {} positions (max_position_embeddings)",
                capacity, config_.max_position_embeddings);
  }
  return KvCache(config_.num_hidden_layers, config_.num_key_value_heads, config_.head_dim, capacity, dtype(), device());
}

BlockKvCache Qwen2Model::make_block_cache(BlockKvCache::Options options) const {
  if (options.max_tokens > config_.max_position_embeddings) {
    throw Error("Qwen2: a KV cache of {} tokens is longer than the model's {} positions (max_position_embeddings)",
                options.max_tokens, config_.max_position_embeddings);
  }
  if (options.max_tokens <= 0) options.max_tokens = config_.max_position_embeddings;
  return BlockKvCache(config_.num_hidden_layers, config_.num_key_value_heads, config_.head_dim, options, dtype(),
                      device());
}

Tensor Qwen2Model::embed(const Tensor& ids) const {
  if (!ids.defined() || ids.numel() == 0 || !(ids.rank() == 1 || (ids.rank() == 2 && ids.dim(0) == 1))) {
    throw Error("Qwen2: ids must be [tokens] or [1, tokens] with at least one token, got {}",
                ids.defined() ? ids.describe() : "undefined");
  }
  // Ids usually come from the host tokenizer: they follow the weights.
  return embedding(ids.reshape({1, ids.numel()}).to(device()), embed_tokens_);
}

Tensor Qwen2Model::forward(const Tensor& ids, KvStore& cache, const ForwardOptions& options) const {
  return forward_embeddings(embed(ids), cache, options);
}

Tensor Qwen2Model::forward_embeddings(const Tensor& embeddings, KvStore& cache, const ForwardOptions& options) const {
  const Qwen2Config& c = config_;
  const Tensor& e = embeddings;
  if (!e.defined() || !(e.rank() == 2 || (e.rank() == 3 && e.dim(0) == 1)) || e.dim(-1) != c.hidden_size ||
      e.dim(-2) == 0) {
    throw Error("Qwen2: input embeddings must be [tokens, {}] or [1, tokens, {}], got {}", c.hidden_size, c.hidden_size,
                e.defined() ? e.describe() : "undefined");
  }
  if (e.device() != device() || e.dtype() != dtype()) {
    throw Error("Qwen2: input embeddings {} must be {} on {}, like the model's weights", e.describe(),
                to_string(dtype()), to_string(device()));
  }
  if (cache.layers() != c.num_hidden_layers || cache.kv_heads() != c.num_key_value_heads ||
      cache.head_dim() != c.head_dim) {
    throw Error("Qwen2: the KV cache holds {} layers of {} heads of {}; this model needs {} of {} of {}",
                cache.layers(), cache.kv_heads(), cache.head_dim(), c.num_hidden_layers, c.num_key_value_heads,
                c.head_dim);
  }
  const std::int64_t s = e.dim(-2);
  if (s > cache.free()) {
    throw Error("Qwen2: {} new tokens do not fit the KV cache ({} of {} tokens free)", s, cache.free(),
                cache.capacity());
  }
  Tensor positions = options.positions;
  if (positions.defined()) {
    if (positions.rank() != 1 || positions.dim(0) != s ||
        (positions.dtype() != DType::kI64 && positions.dtype() != DType::kI32)) {
      throw Error("Qwen2: positions {} must be i32/i64 [{}], one per new token", positions.describe(), s);
    }
  } else {
    std::vector<std::int64_t> p(static_cast<std::size_t>(s));
    for (std::int64_t i = 0; i < s; ++i) p[static_cast<std::size_t>(i)] = cache.length() + i;
    positions = Tensor::from_vector_i64({s}, p);
  }
  RopeOptions rope_options;
  rope_options.theta = c.rope_theta;
  rope_options.style = RopeStyle::kHalf;
  AttentionOptions causal;
  causal.causal = true;  // aligned bottom-right: the new rows see the whole cache

  Tensor x = e.reshape({1, s, c.hidden_size});
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    const Tensor h = rms_norm(x, l.input_norm, c.rms_norm_eps);
    const Tensor q = rope(split_heads(l.q(h), c.num_attention_heads), positions, rope_options);
    const Tensor k = rope(split_heads(l.k(h), c.num_key_value_heads), positions, rope_options);
    const Tensor v = split_heads(l.v(h), c.num_key_value_heads);
    const KvCache::Rows kv = cache.append(static_cast<std::int64_t>(i), k, v);
    x = add(x, l.o(merge_heads(attention(q, kv.keys, kv.values, causal))));
    const Tensor m = rms_norm(x, l.post_attention_norm, c.rms_norm_eps);
    x = add(x, l.down(mul(silu(l.gate(m)), l.up(m))));
  }
  cache.advance(s);
  if (!options.all_logits && s > 1) x = x.reshape({s, c.hidden_size}).slice(0, s - 1, s).reshape({1, 1, c.hidden_size});
  return linear(rms_norm(x, norm_, c.rms_norm_eps), lm_head_);
}

CausalLmStep Qwen2Model::step() const {
  return [this](const Tensor& ids, KvStore& cache) { return forward(ids, cache); };
}

GreedyResult Qwen2Model::generate(std::span<const std::int64_t> prompt, const GreedyOptions& options,
                                  const TokenCallback& on_token) const {
  const std::int64_t want =
      static_cast<std::int64_t>(prompt.size()) + std::max<std::int64_t>(options.max_new_tokens, 0);
  KvCache cache = make_cache(std::min(std::max<std::int64_t>(want, 1), config_.max_position_embeddings));
  return generate_greedy(step(), cache, prompt, options, on_token);
}

GenerationResult Qwen2Model::generate(std::span<const std::int64_t> prompt, const GenerationOptions& options,
                                      const TokenCallback& on_token) const {
  options.sampling.validate();  // before a cache is allocated
  const std::int64_t want =
      static_cast<std::int64_t>(prompt.size()) + std::max<std::int64_t>(options.max_new_tokens, 0);
  KvCache cache = make_cache(std::min(std::max<std::int64_t>(want, 1), config_.max_position_embeddings));
  return engine::generate(step(), cache, prompt, options, on_token);
}

}  // namespace sc::engine
