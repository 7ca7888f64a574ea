#pragma once
// Video question answering, headless (`streamcanvas-cli vlm`): N frames
// sampled evenly over a whole clip, one question, the answer streamed as it
// is generated. The streaming mode (memory over a live source) builds on the
// same model and prompt.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sc::app {

struct VlmOptions {
  std::string model;     // a LLaVA-OneVision folder as downloaded
  std::string video;     // any file FFmpeg decodes
  std::string question;  // UTF-8
  int frames = 8;        // sampled evenly from the first frame to the last
  int max_tokens = 256;  // of the answer
  std::string device = "auto";
  // Sampling (engine/llm/sampling.h); temperature 0 answers greedily.
  float temperature = 0.0f;
  float top_p = 1.0f;
  int top_k = 0;
  float repetition_penalty = 1.0f;
  std::uint64_t seed = 0;
};

struct VlmResult {
  std::string answer;
  std::vector<std::int64_t> answer_ids;
  std::vector<std::int64_t> frame_indices;  // which frames of the clip were used
  std::int64_t clip_frames = 0;
  std::int64_t prompt_tokens = 0;
  std::string stop;     // "end of answer", "token limit", "cancelled", "context full"
  std::string device;   // "cpu" or "cuda"
  std::string warning;  // e.g. the folder's chat template is not the one rendered
  double decode_video_s = 0, vision_s = 0, prefill_s = 0, generate_s = 0;
  std::uint64_t peak_host_bytes = 0;    // the process's peak resident memory
  std::uint64_t device_used_bytes = 0;  // CUDA memory in use at the end (0 on the CPU)
};

// Frames to take from a clip of `count`: `n` spread evenly from the first to
// the last, rounded half up ((2 i (count - 1) + n - 1) / (2 (n - 1))); all of
// them when n >= count; the middle one when n == 1.
std::vector<std::int64_t> sample_frame_indices(std::int64_t count, std::int64_t n);

// on_text gets the answer as whole UTF-8 characters as they are generated;
// progress(stage) names the long steps. Throws sc::Error naming the file and
// what is wrong (not a LLaVA-OneVision folder, no tokenizer, a clip without
// frames, a question that does not fit the context, text that is not UTF-8).
VlmResult run_vlm(const VlmOptions& options, const std::function<void(const std::string&)>& on_text,
                  const std::function<void(const std::string&)>& progress = {},
                  const std::atomic<bool>* cancel = nullptr);

// --stats: vision ms per frame, prefill and decode tokens/s, peak memory.
std::string format_vlm_stats(const VlmResult& r);

}  // namespace sc::app
