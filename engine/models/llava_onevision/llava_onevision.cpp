#include "engine/models/llava_onevision/llava_onevision.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/models/folder_loader.h"
#include "engine/ops.h"

namespace sc::engine {

const char* const kLlavaOnevisionChatTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'}}{# Render all images first #}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\\n' }}{% endfor %}"
    "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>\\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}"
    "{{ content['text'] }}{% endgeneration %}{% endfor %}{% endif %}{{'<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

std::string video_question_prompt(std::string_view question) {
  return "<|im_start|>user\n<video>\n" + std::string(question) + "<|im_end|>\n<|im_start|>assistant\n";
}

FolderChatTemplate read_chat_template(const std::filesystem::path& folder) {
  const auto read_text = [](const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("{}: cannot be read", file.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  if (std::filesystem::exists(folder / "chat_template.jinja")) {
    return {(folder / "chat_template.jinja").string(), read_text(folder / "chat_template.jinja")};
  }
  for (const char* name : {"chat_template.json", "tokenizer_config.json"}) {
    const std::filesystem::path file = folder / name;
    if (!std::filesystem::exists(file)) continue;
    const Config c = Config::load(file);
    if (c.has("chat_template") && c.json().at("chat_template").is_string()) {
      return {file.string(), c.get<std::string>("chat_template")};
    }
  }
  return {};
}

LlavaOnevisionConfig LlavaOnevisionConfig::from_config(const Config& config) {
  const std::string model_type = config.get_or<std::string>("model_type", "");
  if (model_type != "llava_onevision") {
    throw Error("config '{}': field 'model_type' is \"{}\"; a LLaVA-OneVision model (\"llava_onevision\") is expected",
                config.source(), model_type);
  }
  LlavaOnevisionConfig c;
  // transformers builds the so400m tower when vision_config is absent, and
  // SiglipVisionConfig's own defaults fill what a present one omits.
  if (config.has("vision_config")) c.vision = SiglipVisionConfig::from_config(config.child("vision_config"));
  if (!config.has("text_config")) {
    throw Error("config '{}': no 'text_config': the language model's configuration is required", config.source());
  }
  c.text = Qwen2Config::from_config(config);
  c.vision_feature_layer = config.get_or<std::int64_t>("vision_feature_layer", -1);
  const std::int64_t layers = c.vision.num_hidden_layers;
  if (c.vision_feature_layer < -(layers + 1) || c.vision_feature_layer > layers) {
    throw Error("config '{}': field 'vision_feature_layer' is {}; the vision tower has {} layers ({}..{})",
                config.source(), c.vision_feature_layer, layers, -(layers + 1), layers);
  }
  c.vision_feature_select_strategy = config.get_or<std::string>("vision_feature_select_strategy", "full");
  if (c.vision_feature_select_strategy != "full") {
    throw Error(
        "config '{}': field 'vision_feature_select_strategy' is \"{}\"; only \"full\" is supported (SigLIP has no "
        "class token for \"default\" to drop)",
        config.source(), c.vision_feature_select_strategy);
  }
  c.projector_hidden_act = config.get_or<std::string>("projector_hidden_act", "gelu");
  parse_activation(c.projector_hidden_act, config.source(), "projector_hidden_act");
  c.multimodal_projector_bias = config.get_or("multimodal_projector_bias", true);
  c.image_token_index = config.get_or<std::int64_t>("image_token_index", c.image_token_index);
  c.video_token_index = config.get_or<std::int64_t>("video_token_index", c.video_token_index);
  for (const auto& [field, value] :
       {std::pair{"image_token_index", c.image_token_index}, std::pair{"video_token_index", c.video_token_index}}) {
    if (value < 0 || value >= c.text.vocab_size) {
      throw Error("config '{}': field '{}' is {}; it must be a token id below the vocabulary size {}", config.source(),
                  field, value, c.text.vocab_size);
    }
  }
  return c;
}

std::int64_t LlavaOnevisionConfig::tokens_per_frame() const {
  const std::int64_t side = (vision.patches_per_side() + 1) / 2;
  return side * side;
}

LlavaOnevisionNames LlavaOnevisionModel::find_names(const WeightSource& w) {
  if (w.contains("image_newline")) {
    return {"vision_tower.vision_model", "multi_modal_projector", "image_newline", Qwen2Model::find_names(w)};
  }
  if (w.contains("model.image_newline")) {
    return {"model.vision_tower.vision_model", "model.multi_modal_projector", "model.image_newline",
            Qwen2Model::find_names(w)};
  }
  throw Error(
      "{}: not a LLaVA-OneVision checkpoint: neither 'image_newline' (llava-hf) nor 'model.image_newline' "
      "(transformers >= 4.52) is present",
      w.source());
}

LlavaOnevisionModel LlavaOnevisionModel::load(WeightSource& w, const LlavaOnevisionConfig& c) {
  const LlavaOnevisionNames names = find_names(w);
  LlavaOnevisionModel m;
  m.config_ = c;
  m.vision_ = SiglipVisionModel::load(w, c.vision, names.vision);
  const std::int64_t dv = c.vision.hidden_size, dt = c.text.hidden_size;
  m.linear_1_ = Linear::load(w, join_name(names.projector, "linear_1"), dv, dt, c.multimodal_projector_bias);
  m.linear_2_ = Linear::load(w, join_name(names.projector, "linear_2"), dt, dt, c.multimodal_projector_bias);
  m.projector_act_ = parse_activation(c.projector_hidden_act, w.source(), "projector_hidden_act");
  m.image_newline_ = w.get(names.newline, {dt});
  m.text_ = Qwen2Model::load(w, c.text, names.text);
  return m;
}

LlavaOnevisionModel LlavaOnevisionModel::load(const std::filesystem::path& folder, const Placement& placement) {
  return load_model_folder<LlavaOnevisionModel, LlavaOnevisionConfig>(folder, "", placement,
                                                                      "LlavaOnevisionForConditionalGeneration");
}

Tensor LlavaOnevisionModel::project(const Tensor& features) const {
  return linear_2_(activate(linear_1_(features), projector_act_));
}

Tensor LlavaOnevisionModel::pool(const Tensor& projected) const {
  const std::int64_t side = config_.vision.patches_per_side(), d = config_.text.hidden_size;
  if (!projected.defined() || projected.rank() != 3 || projected.dim(1) != side * side || projected.dim(2) != d) {
    throw Error("LLaVA-OneVision: projected features must be [frames, {}, {}], got {}", side * side, d,
                projected.defined() ? projected.describe() : "undefined");
  }
  const std::int64_t n = projected.dim(0), half = (side + 1) / 2;
  // [N, side, side, D] -> NCHW, bilinear (align_corners false, as
  // torch.nn.functional.interpolate with a size), back to [N, half^2, D].
  const Tensor nchw = permute(projected.reshape({n, side, side, d}), {0, 3, 1, 2});
  Resize2dParams params;
  params.out_h = params.out_w = half;
  params.mode = ResizeMode::kLinear;
  params.coords = ResizeCoords::kPytorchHalfPixel;
  return permute(resize2d(nchw, params), {0, 2, 3, 1}).reshape({n, half * half, d});
}

Tensor LlavaOnevisionModel::video_features(const Tensor& pixels) const {
  if (!pixels.defined() || !is_floating(pixels.dtype())) {
    throw Error("LLaVA-OneVision: pixels must be a float tensor [frames, 3, {}, {}], got {}", config_.vision.image_size,
                config_.vision.image_size, pixels.defined() ? pixels.describe() : "undefined");
  }
  const Tensor x = to_dtype(pixels.to(device()), dtype());
  const Tensor pooled = pool(project(vision_.forward(x, config_.vision_feature_layer)));
  const std::int64_t d = config_.text.hidden_size;
  return concat({pooled.reshape({pooled.dim(0) * pooled.dim(1), d}), image_newline_.reshape({1, d})}, 0);
}

Tensor LlavaOnevisionModel::embed_prompt(std::span<const std::int64_t> ids, const Tensor& video) const {
  const std::int64_t d = config_.text.hidden_size;
  if (ids.empty()) throw Error("LLaVA-OneVision: the prompt is empty");
  const auto placeholders = static_cast<std::int64_t>(std::count(ids.begin(), ids.end(), config_.video_token_index));
  if (std::find(ids.begin(), ids.end(), config_.image_token_index) != ids.end()) {
    throw Error("LLaVA-OneVision: the prompt holds an image placeholder (id {}); only video is supported",
                config_.image_token_index);
  }
  if (!video.defined() || video.rank() != 2 || video.dim(1) != d || video.dim(0) != placeholders) {
    throw Error("LLaVA-OneVision: the prompt has {} video placeholders (id {}) but the video gives {}", placeholders,
                config_.video_token_index, video.defined() ? video.describe() : "no features");
  }
  const auto s = static_cast<std::int64_t>(ids.size());
  const Tensor text = text_.embed(Tensor::from_vector_i64({s}, {ids.data(), ids.size()})).reshape({s, d});
  const Tensor rows = to_dtype(video.to(device()), dtype());
  // Runs of text rows and of placeholder rows, in order (transformers'
  // masked_scatter fills the placeholders with the features in order).
  std::vector<Tensor> parts;
  std::int64_t used = 0;
  for (std::int64_t i = 0; i < s;) {
    const bool is_video = ids[static_cast<std::size_t>(i)] == config_.video_token_index;
    std::int64_t j = i;
    while (j < s && (ids[static_cast<std::size_t>(j)] == config_.video_token_index) == is_video) ++j;
    if (is_video) {
      parts.push_back(rows.slice(0, used, used + (j - i)));
      used += j - i;
    } else {
      parts.push_back(text.slice(0, i, j));
    }
    i = j;
  }
  const Tensor all = parts.size() == 1 ? parts[0] : concat(std::span<const Tensor>(parts), 0);
  return all.reshape({1, s, d});
}

Tensor LlavaOnevisionModel::prefill(std::span<const std::int64_t> ids, const Tensor& video, KvStore& cache,
                                    bool all_logits) const {
  Qwen2Model::ForwardOptions options;
  options.all_logits = all_logits;
  return text_.forward_embeddings(embed_prompt(ids, video), cache, options);
}

GreedyResult LlavaOnevisionModel::generate(std::span<const std::int64_t> ids, const Tensor& video,
                                           const GreedyOptions& options, const TokenCallback& on_token) const {
  GenerationOptions greedy;
  static_cast<GreedyOptions&>(greedy) = options;
  return generate(ids, video, greedy, on_token);
}

GenerationResult LlavaOnevisionModel::generate(std::span<const std::int64_t> ids, const Tensor& video,
                                               const GenerationOptions& options, const TokenCallback& on_token) const {
  const auto prompt = static_cast<std::int64_t>(ids.size());
  const std::int64_t positions = config_.text.max_position_embeddings;
  if (prompt >= positions) {
    throw Error("LLaVA-OneVision: the prompt is {} tokens; the language model holds at most {} positions", prompt,
                positions);
  }
  options.sampling.validate();
  KvCache cache = make_cache(std::min(prompt + std::max<std::int64_t>(options.max_new_tokens, 1), positions));
  const auto start = std::chrono::steady_clock::now();
  const Tensor logits = prefill(ids, video, cache);
  GenerationResult result = decode(text_.step(), cache, logits, ids, options, on_token);
  // The decode loop's clock starts after the prefill; the caller's starts here.
  const double prefill_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() - result.total_s;
  result.first_token_s += prefill_s;
  result.total_s += prefill_s;
  return result;
}

}  // namespace sc::engine
