#include "app/modes/video_qa/vlm_job.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "base/error.h"
#include "engine/cuda/runtime.h"
#include "engine/device.h"
#include "engine/llm/sampling.h"
#include "engine/models/llava_onevision/llava_onevision.h"
#include "engine/models/llava_onevision/video_processor.h"
#include "engine/tokenizers/bpe_tokenizer.h"
#include "engine/tokenizers/utf8.h"
#include "media/source_spec.h"
#include "media/video_reader.h"

namespace sc::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// RGB u8 [H, W, 3] of an RGBA frame.
void append_rgb(const media::Frame& f, std::vector<std::uint8_t>& out) {
  for (int y = 0; y < f.height; ++y) {
    const std::uint8_t* row = f.row(y);
    for (int x = 0; x < f.width; ++x) out.insert(out.end(), row + 4 * x, row + 4 * x + 3);
  }
}

struct SampledClip {
  engine::Tensor frames;  // u8 [n, H, W, 3]
  std::vector<std::int64_t> indices;
  std::int64_t count = 0;
};

// Reads the clip once when its frame count is known (twice when the count
// the container gave was wrong, or unknown), keeping the sampled frames,
// each resized to out_h x out_w as it is read (the processor's resize, so
// only small frames are kept, and frames may change size mid-clip); 0: kept
// as they are (then they must all have one size).
SampledClip sample_clip(const std::string& path, int n, std::int64_t out_h, std::int64_t out_w,
                        const std::atomic<bool>* cancel) {
  media::VideoReader reader(media::parse_source_spec(path, media::Pacing::kFast));
  std::int64_t count = reader.info().frame_count;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1 && !reader.seek(0.0)) {
      throw Error("video '{}': the frame count is unknown and the file cannot be re-read from the start", path);
    }
    // Unknown count: this pass only counts (a frame past every index).
    const std::vector<std::int64_t> want = count > 0 ? sample_frame_indices(count, n) : std::vector<std::int64_t>{};
    SampledClip clip;
    std::vector<std::uint8_t> rgb, full;
    media::Frame f;
    std::int64_t i = 0, width = 0, height = 0;
    std::size_t next = 0;
    while (reader.read(f)) {
      if (cancel && cancel->load()) throw Error("cancelled");
      if (next < want.size() && want[next] == i) {
        if (out_h > 0) {
          full.clear();
          append_rgb(f, full);
          const std::size_t at = rgb.size();
          rgb.resize(at + static_cast<std::size_t>(out_h * out_w * 3));
          engine::resize_bicubic_antialias_u8(full.data(), f.height, f.width, 3, rgb.data() + at, out_h, out_w);
          width = out_w, height = out_h;
        } else {
          if (clip.indices.empty()) width = f.width, height = f.height;
          if (f.width != width || f.height != height) {
            throw Error(
                "video '{}': frame {} is {}x{}, the first was {}x{} (and the model's processor does not resize)", path,
                i, f.width, f.height, width, height);
          }
          append_rgb(f, rgb);
        }
        clip.indices.push_back(i);
        ++next;
      }
      ++i;
    }
    if (i == 0) throw Error("video '{}': no decodable frames", path);
    if (count > 0 && clip.indices.size() == want.size() && i == count) {
      clip.count = i;
      clip.frames =
          engine::Tensor::empty({static_cast<std::int64_t>(clip.indices.size()), height, width, 3}, engine::DType::kU8);
      std::copy(rgb.begin(), rgb.end(), clip.frames.data<std::uint8_t>());
      return clip;
    }
    count = i;  // the real count: sample again
  }
  throw Error("video '{}': its frame count changed between two reads", path);
}

const char* stop_text(engine::StopReason r) {
  switch (r) {
    case engine::StopReason::kStopToken:
      return "end of answer";
    case engine::StopReason::kMaxTokens:
      return "token limit";
    case engine::StopReason::kCancelled:
      return "cancelled";
    case engine::StopReason::kCacheFull:
      return "context full";
  }
  return "?";
}

}  // namespace

std::vector<std::int64_t> sample_frame_indices(std::int64_t count, std::int64_t n) {
  if (count <= 0 || n <= 0) throw Error("sample_frame_indices: count {} and n {} must be positive", count, n);
  std::vector<std::int64_t> out;
  if (n >= count) {
    for (std::int64_t i = 0; i < count; ++i) out.push_back(i);
  } else if (n == 1) {
    out.push_back((count - 1) / 2);
  } else {
    for (std::int64_t i = 0; i < n; ++i) out.push_back((2 * i * (count - 1) + (n - 1)) / (2 * (n - 1)));
  }
  return out;
}

VlmResult run_vlm(const VlmOptions& o, const std::function<void(const std::string&)>& on_text,
                  const std::function<void(const std::string&)>& progress, const std::atomic<bool>* cancel) {
  if (o.model.empty() || o.video.empty()) throw Error("vlm needs --model and --video");
  if (o.question.empty()) throw Error("vlm: the question is empty");
  if (const std::size_t at = engine::utf8::first_invalid(o.question); at != std::string_view::npos) {
    throw Error("vlm: the question is not valid UTF-8 (byte {} of {})", at, o.question.size());
  }
  if (o.frames < 1) throw Error("--frames {} must be at least 1", o.frames);
  if (o.max_tokens < 1) throw Error("--max-tokens {} must be at least 1", o.max_tokens);
  engine::SamplingOptions sampling;
  sampling.temperature = o.temperature;
  sampling.top_p = o.top_p;
  sampling.top_k = o.top_k;
  sampling.repetition_penalty = o.repetition_penalty;
  sampling.seed = o.seed;
  sampling.validate();  // names the bad option before anything is read
  const auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  const fs::path folder = o.model;
  if (!fs::is_directory(folder)) throw Error("model '{}': not a folder", o.model);
  VlmResult r;
  // Everything cheap that can be wrong is checked before the weights load.
  const engine::LlavaOnevisionConfig config =
      engine::LlavaOnevisionConfig::from_config(engine::Config::load(folder / "config.json"));
  if (!fs::exists(folder / "tokenizer.json")) {
    throw Error("model '{}': no tokenizer.json (the folder must hold the tokenizer as downloaded)", o.model);
  }
  const engine::BpeTokenizer tokenizer = engine::BpeTokenizer::load(folder);
  const engine::VideoProcessorConfig processor = engine::VideoProcessorConfig::load(folder);
  const std::int64_t side = config.vision.image_size;
  if (processor.do_resize && (processor.height != side || processor.width != side)) {
    throw Error(
        "model '{}': the video processor resizes frames to {}x{} but the vision tower takes {}x{} "
        "(config.json, vision_config.image_size)",
        o.model, processor.width, processor.height, side, side);
  }
  const engine::FolderChatTemplate chat = engine::read_chat_template(folder);
  if (chat.text.empty()) {
    r.warning = "the folder has no chat template; using LLaVA-OneVision's";
  } else if (!chat.matches()) {
    r.warning =
        fmt::format("{} is not the LLaVA-OneVision template this program renders; the prompt may differ", chat.file);
  }
  const auto id_of = [&](const char* token) {
    const auto id = tokenizer.token_to_id(token);
    if (!id) throw Error("model '{}': the tokenizer has no {} token", o.model, token);
    return *id;
  };
  const std::int64_t video_id = id_of("<video>"), end_id = id_of("<|im_end|>");
  if (video_id != config.video_token_index) {
    throw Error("model '{}': the tokenizer's <video> is id {}, the config's video_token_index {}", o.model, video_id,
                config.video_token_index);
  }
  // The prompt, the question read as text (a typed <|im_end|> stays text).
  const std::string prompt = engine::video_question_prompt(o.question);
  const std::string head = "<|im_start|>user\n<video>";
  const std::string tail = "<|im_end|>\n<|im_start|>assistant\n";
  const std::string middle = prompt.substr(head.size(), prompt.size() - head.size() - tail.size());
  engine::BpeTokenizer::EncodeOptions text_only;
  text_only.parse_special = false;
  const std::vector<std::int64_t> head_ids = tokenizer.encode(head), middle_ids = tokenizer.encode(middle, text_only),
                                  tail_ids = tokenizer.encode(tail);
  const auto build_ids = [&](std::int64_t frames) {
    std::vector<std::int64_t> ids;
    for (std::int64_t id : head_ids) {
      if (id != video_id) {
        ids.push_back(id);
      } else {
        ids.insert(ids.end(), static_cast<std::size_t>(config.video_tokens(frames)), video_id);
      }
    }
    ids.insert(ids.end(), middle_ids.begin(), middle_ids.end());
    ids.insert(ids.end(), tail_ids.begin(), tail_ids.end());
    return ids;
  };
  const std::int64_t context = config.text.max_position_embeddings;
  // The prompt at --frames frames, and room for one answer token.
  const auto prompt_tokens = static_cast<std::int64_t>(build_ids(o.frames).size());
  if (prompt_tokens + 1 > context) {
    throw Error(
        "vlm: the prompt needs {} tokens ({} frames x {} + the question) and an answer at least 1, more than "
        "the model's context of {}",
        prompt_tokens, o.frames, config.tokens_per_frame(), context);
  }

  say("reading the clip");
  auto t = Clock::now();
  SampledClip clip = sample_clip(o.video, o.frames, processor.do_resize ? processor.height : 0,
                                 processor.do_resize ? processor.width : 0, cancel);
  if (!processor.do_resize && (clip.frames.dim(1) != side || clip.frames.dim(2) != side)) {
    throw Error("video '{}': frames are {}x{}; the model's processor does not resize and its vision tower takes {}x{}",
                o.video, clip.frames.dim(2), clip.frames.dim(1), side, side);
  }
  r.decode_video_s = seconds_since(t);
  r.clip_frames = clip.count;
  r.frame_indices = clip.indices;
  // A clip shorter than --frames gives fewer placeholders.
  const std::vector<std::int64_t> ids = build_ids(static_cast<std::int64_t>(clip.indices.size()));
  r.prompt_tokens = static_cast<std::int64_t>(ids.size());

  say("loading the model");
  engine::Placement placement;
  const bool cuda = o.device == "cuda" || (o.device == "auto" && engine::compute_path() == engine::ComputePath::kCuda);
  if (cuda) placement = {engine::Device::kCuda, engine::DType::kF16};
  r.device = cuda ? "cuda" : "cpu";
  const engine::LlavaOnevisionModel model = engine::LlavaOnevisionModel::load(folder, placement);

  say("looking at the frames");
  t = Clock::now();
  const engine::Tensor video = model.video_features(engine::preprocess_video(clip.frames, processor));
  engine::cuda::synchronize();  // the vision time includes the device's work
  r.vision_s = seconds_since(t);

  engine::GenerationOptions options;
  options.max_new_tokens = o.max_tokens;
  options.sampling = sampling;
  options.stop_ids = {end_id};
  if (const auto eos = tokenizer.eos_id(); eos && *eos != end_id) options.stop_ids.push_back(*eos);
  engine::StreamDecoder decoder(tokenizer, /*skip_special_tokens=*/true);
  say("answering");
  const engine::GenerationResult g = model.generate(ids, video, options, [&](std::int64_t id) {
    const std::string piece = decoder.push(id);
    if (!piece.empty()) {
      r.answer += piece;
      if (on_text) on_text(piece);
    }
    return !(cancel && cancel->load());
  });
  const std::string rest = decoder.flush();
  if (!rest.empty()) {
    r.answer += rest;
    if (on_text) on_text(rest);
  }
  r.answer_ids = g.ids;
  r.stop = stop_text(g.reason);
  r.prefill_s = g.first_token_s;
  r.generate_s = g.total_s;
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) r.peak_host_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
  std::uint64_t free_bytes = 0, total_bytes = 0;
  if (cuda && engine::cuda_memory(&free_bytes, &total_bytes)) r.device_used_bytes = total_bytes - free_bytes;
  return r;
}

std::string format_vlm_stats(const VlmResult& r) {
  const auto frames = static_cast<double>(std::max<std::size_t>(r.frame_indices.size(), 1));
  const auto decoded = static_cast<double>(r.answer_ids.size());
  // The first token comes out of the prefill; the rest are decode steps.
  const double decode_s = r.generate_s - r.prefill_s;
  std::string s;
  s += fmt::format("  device         {}\n", r.device);
  s += fmt::format("  frames         {} of {} ({:.1f} ms to decode the clip)\n", r.frame_indices.size(), r.clip_frames,
                   r.decode_video_s * 1e3);
  s += fmt::format("  vision         {:.1f} ms per frame\n", r.vision_s * 1e3 / frames);
  s += fmt::format("  prefill        {} tokens, {:.1f} tokens/s\n", r.prompt_tokens,
                   r.prefill_s > 0 ? static_cast<double>(r.prompt_tokens) / r.prefill_s : 0.0);
  s += fmt::format("  decode         {} tokens, {:.1f} tokens/s ({})\n", r.answer_ids.size(),
                   decode_s > 0 && decoded > 1 ? (decoded - 1) / decode_s : 0.0, r.stop);
  s += fmt::format("  peak memory    {:.1f} MiB host", static_cast<double>(r.peak_host_bytes) / (1 << 20));
  if (r.device_used_bytes)
    s += fmt::format(", {:.1f} MiB GPU in use", static_cast<double>(r.device_used_bytes) / (1 << 20));
  s += "\n";
  return s;
}

}  // namespace sc::app
