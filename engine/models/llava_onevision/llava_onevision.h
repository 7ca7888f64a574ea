#pragma once
// LLaVA-OneVision for video (transformers' LlavaOnevisionForConditionalGeneration,
// modeling_llava_onevision.py, as engine/llm/README.md lays it out): each
// frame through the SigLIP tower (engine/models/siglip), the features of
// `vision_feature_layer`, the two-layer projector (linear_1, gelu, linear_2)
// into the language model's width, then 2x2 bilinear pooling of each frame's
// patch grid (27 x 27 -> 14 x 14 = 196 tokens at 384 px); the frames' tokens
// in order and ONE image_newline row after the last frame replace the
// prompt's <video> placeholder ids, and the Qwen2 language model
// (engine/models/qwen2) runs on the spliced embeddings. Batch 1, one video
// per prompt; images (anyres tiling) are not supported yet.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "engine/config.h"
#include "engine/llm/decode.h"
#include "engine/llm/kv_cache.h"
#include "engine/models/layers.h"
#include "engine/models/qwen2/qwen2.h"
#include "engine/models/siglip/siglip.h"

namespace sc::engine {

struct LlavaOnevisionConfig {
  SiglipVisionConfig vision = SiglipVisionConfig::llava_onevision_default();
  Qwen2Config text;
  std::int64_t vision_feature_layer = -1;
  std::string vision_feature_select_strategy = "full";
  std::string projector_hidden_act = "gelu";
  bool multimodal_projector_bias = true;
  std::int64_t image_token_index = 151646;
  std::int64_t video_token_index = 151647;

  // A config.json with model_type "llava_onevision". Errors name the file and
  // the field (a list of feature layers, the "default" strategy, which would
  // drop a patch SigLIP does not have, and placeholder ids outside the
  // vocabulary are refused).
  static LlavaOnevisionConfig from_config(const Config& config);
  // Language-model tokens one frame becomes: ceil(side / 2)^2.
  std::int64_t tokens_per_frame() const;
  // Placeholder ids a clip of `frames` frames needs: frames x tokens + 1.
  std::int64_t video_tokens(std::int64_t frames) const { return frames * tokens_per_frame() + 1; }
};

// Where a checkpoint keeps the parts, in the two layouts transformers has
// written (llava-hf's files; transformers >= 4.52's save_pretrained).
struct LlavaOnevisionNames {
  std::string vision;     // "vision_tower.vision_model" / "model.vision_tower.vision_model"
  std::string projector;  // "multi_modal_projector" / "model.multi_modal_projector"
  std::string newline;    // "image_newline" / "model.image_newline"
  Qwen2Names text;
};

// The prompt format. The engine has no Jinja interpreter: it renders the one
// template transformers' convert_llava_onevision_weights_to_hf.py gives the
// published llava-hf checkpoints (kLlavaOnevisionChatTemplate), for one user
// turn of a video and a question with the generation prompt:
// "<|im_start|>user\n<video>\n" + question + "<|im_end|>\n<|im_start|>assistant\n".
extern const char* const kLlavaOnevisionChatTemplate;
std::string video_question_prompt(std::string_view question);

// The chat template a model folder carries: chat_template.jinja,
// chat_template.json's "chat_template", or tokenizer_config.json's
// "chat_template", the first present (transformers' order); empty when none.
struct FolderChatTemplate {
  std::string file;  // where it was found
  std::string text;  // its text
  bool matches() const { return text == kLlavaOnevisionChatTemplate; }
};
FolderChatTemplate read_chat_template(const std::filesystem::path& folder);

class LlavaOnevisionModel {
 public:
  // Throws naming the source and the names looked for when neither layout's
  // image_newline is present.
  static LlavaOnevisionNames find_names(const WeightSource& weights);
  static LlavaOnevisionModel load(WeightSource& weights, const LlavaOnevisionConfig& config);
  // A model folder as downloaded: config.json + model.safetensors or a
  // sharded index. Tensors the model does not use are refused.
  static LlavaOnevisionModel load(const std::filesystem::path& folder, const Placement& placement = {});

  const LlavaOnevisionConfig& config() const { return config_; }
  const Qwen2Model& language_model() const { return text_; }
  const SiglipVisionModel& vision_tower() const { return vision_; }
  Device device() const { return text_.device(); }
  DType dtype() const { return text_.dtype(); }

  // pixels [frames, 3, S, S] (the video processor's output, any float dtype,
  // any device) -> [frames * tokens_per_frame() + 1, text hidden]: the rows
  // that replace the <video> placeholders (pooled frames, then image_newline).
  Tensor video_features(const Tensor& pixels) const;
  // The steps of video_features, for tests: the projector on tower features
  // [frames, patches, vision hidden] -> [frames, patches, text hidden], and
  // the pooling of that -> [frames, tokens_per_frame(), text hidden].
  Tensor project(const Tensor& features) const;
  Tensor pool(const Tensor& projected) const;

  // The prompt's embeddings [1, S, hidden] with the video placeholder rows
  // replaced by `video` (video_features() of the clip). Throws when the
  // number of placeholders is not the number of rows, or an image
  // placeholder is present.
  Tensor embed_prompt(std::span<const std::int64_t> ids, const Tensor& video) const;
  // Prefills the spliced prompt into `cache` (which must be empty or hold a
  // prefix the prompt continues) and returns the last position's logits
  // [1, 1, V] (all positions' [1, S, V] with all_logits).
  Tensor prefill(std::span<const std::int64_t> ids, const Tensor& video, KvStore& cache, bool all_logits = false) const;
  // A cache for this model's language model.
  KvCache make_cache(std::int64_t capacity) const { return text_.make_cache(capacity); }
  // Greedy answer: prefill, then the decode loop (engine/llm/decode.h) in a
  // cache of prompt + max_new_tokens.
  GreedyResult generate(std::span<const std::int64_t> ids, const Tensor& video, const GreedyOptions& options,
                        const TokenCallback& on_token = {}) const;
  // The same with the decode loop's sampling (engine/llm/sampling.h); the
  // prompt ids, placeholders included, are the repetition penalty's context.
  GenerationResult generate(std::span<const std::int64_t> ids, const Tensor& video, const GenerationOptions& options,
                            const TokenCallback& on_token = {}) const;

 private:
  LlavaOnevisionConfig config_;
  SiglipVisionModel vision_;
  Linear linear_1_, linear_2_;
  Activation projector_act_ = Activation::kGelu;
  Tensor image_newline_;  // [text hidden]
  Qwen2Model text_;
};

}  // namespace sc::engine
