#pragma once
// Qwen2ForCausalLM as transformers computes it (modeling_qwen2.py): token
// embedding; per layer RMSNorm, q / k / v projections with bias, rotary
// embedding (rotate-half, theta from the config) on q and k, grouped-query
// causal attention against the KV cache, o_proj without bias, residual,
// RMSNorm, SwiGLU MLP (down(silu(gate(x)) * up(x))), residual; final RMSNorm
// and lm_head (or the embedding matrix, when tied). Qwen2-0.5B: 24 layers of
// 896, 14 query heads over 2 KV heads of 64, vocabulary 151,936, tied.
// Batch 1; everything through engine/ops.h, so it runs where its weights are.
// Not supported (refused by from_config, naming the field): rope_scaling
// (YaRN, dynamic NTK, ...), use_sliding_window, hidden_act other than silu.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/llm/block_kv_cache.h"
#include "engine/llm/decode.h"
#include "engine/llm/kv_cache.h"
#include "engine/models/layers.h"

namespace sc::engine {

struct Qwen2Config {
  std::int64_t vocab_size = 151936;
  std::int64_t hidden_size = 896;
  std::int64_t intermediate_size = 4864;
  std::int64_t num_hidden_layers = 24;
  std::int64_t num_attention_heads = 14;
  std::int64_t num_key_value_heads = 2;
  std::int64_t head_dim = 64;
  std::int64_t max_position_embeddings = 32768;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  bool tie_word_embeddings = false;

  // A Qwen2 config.json, or a VLM's (LLaVA-OneVision) whose Qwen2 config is
  // its text_config. Sizes are required; the rest default as Qwen2Config
  // does (num_key_value_heads to num_attention_heads, head_dim to
  // hidden_size / num_attention_heads). In a text_config,
  // tie_word_embeddings is the text_config's own, else the outer config's.
  // Errors name the file and the field.
  static Qwen2Config from_config(const Config& config);
};

// Where a checkpoint keeps the language model's tensors.
struct Qwen2Names {
  std::string body;     // "model" -> "model.layers.0....", "model.embed_tokens.weight"
  std::string lm_head;  // "lm_head.weight"
};

class Qwen2Model {
 public:
  // The layouts transformers has written, tried in order: Qwen2ForCausalLM
  // ("model." + "lm_head.weight"), llava-hf's LLaVA-OneVision
  // ("language_model.model." + "language_model.lm_head.weight"),
  // transformers >= 4.52's LLaVA-OneVision ("model.language_model." +
  // "lm_head.weight"), a bare Qwen2Model (no prefix). The body is the first
  // whose embed_tokens.weight is present; the lm_head is whichever of
  // "<outer>.lm_head.weight" and "lm_head.weight" is present. Throws naming
  // the source and every name looked for when none matches.
  static Qwen2Names find_names(const WeightSource& weights);
  // Every tensor by name and shape (missing or misshapen ones are the
  // WeightSource's errors, naming the tensor). Tied: no lm_head is read; a
  // stored one is ignored, as transformers ties it to the embedding.
  static Qwen2Model load(WeightSource& weights, const Qwen2Config& config);
  static Qwen2Model load(WeightSource& weights, const Qwen2Config& config, const Qwen2Names& names);
  // A folder: config.json + model.safetensors (or a sharded index); tensors
  // the model does not use are refused.
  static Qwen2Model load(const std::filesystem::path& folder, const Placement& placement = {});

  const Qwen2Config& config() const { return config_; }
  Device device() const { return embed_tokens_.device(); }
  DType dtype() const { return embed_tokens_.dtype(); }

  // An empty cache for this model (its layers, KV heads, head size, device
  // and dtype); capacity at most max_position_embeddings.
  KvCache make_cache(std::int64_t capacity) const;
  // A block cache for this model (its layers, KV heads, head size, device and
  // dtype); max_tokens, when set, at most max_position_embeddings.
  BlockKvCache make_block_cache(BlockKvCache::Options options) const;

  struct ForwardOptions {
    // i32/i64 [S]: each new token's position. Undefined: cache.length() + i.
    Tensor positions;
    bool all_logits = false;  // logits of every new position, not only the last
  };
  // ids: i32/i64 [S] or [1, S], from the host or the model's device.
  // Appends S rows to `cache` and returns logits [1, S, V] (all_logits) or
  // [1, 1, V] (the last position), on the model's device.
  Tensor forward(const Tensor& ids, KvStore& cache, const ForwardOptions& options) const;
  Tensor forward(const Tensor& ids, KvStore& cache) const { return forward(ids, cache, ForwardOptions{}); }
  // The same from input embeddings [S, hidden] or [1, S, hidden] in the
  // model's dtype on its device (what embed() gives, with image features
  // spliced in).
  Tensor forward_embeddings(const Tensor& embeddings, KvStore& cache, const ForwardOptions& options) const;
  Tensor forward_embeddings(const Tensor& embeddings, KvStore& cache) const {
    return forward_embeddings(embeddings, cache, ForwardOptions{});
  }
  // ids [S] or [1, S] -> [1, S, hidden].
  Tensor embed(const Tensor& ids) const;

  // This model as the decode loop's step (engine/llm/decode.h): last logits.
  // It refers to this model, which must outlive it (and not move).
  CausalLmStep step() const;
  // Greedy decoding of `prompt` into a cache of prompt + max_new_tokens.
  GreedyResult generate(std::span<const std::int64_t> prompt, const GreedyOptions& options,
                        const TokenCallback& on_token = {}) const;
  // The same, greedy or sampled as options.sampling says (engine/llm/decode.h).
  GenerationResult generate(std::span<const std::int64_t> prompt, const GenerationOptions& options,
                            const TokenCallback& on_token = {}) const;

 private:
  struct Layer {
    Tensor input_norm, post_attention_norm;  // RMSNorm weights [hidden]
    Linear q, k, v, o;                       // q / k / v with bias, o without
    Linear gate, up, down;                   // no bias
  };
  Qwen2Config config_;
  Tensor embed_tokens_;
  std::vector<Layer> layers_;
  Tensor norm_;
  Tensor lm_head_;  // the embedding when tied
};

}  // namespace sc::engine
