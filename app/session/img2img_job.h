#pragma once
// Live img2img, headless (`streamcanvas-cli img2img`): source -> input queue
// -> StreamDiffusion worker -> output queue -> recorder. The queues decouple
// the source's rate from the model's: a live source feeds a latest-wins
// input queue (the model always works on the newest frame; drops are
// counted), a file feeds a blocking one (every frame is processed).
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace sc::app {

struct Img2ImgOptions {
  std::string model;  // diffusers pipeline folder (unet/ text_encoder/ tokenizer/ vae/)
  std::string taesd;  // TAESD folder; "" = the pipeline's full VAE
  std::string source = "test";
  std::string output;  // .mp4 or .mkv
  std::string prompt;
  std::string negative_prompt;
  std::int64_t max_frames = 0;  // input frames; 0 = until the source ends
  int steps = 2;                // 1..4
  float strength = 0.5f;        // 0..1, mapped to the t_index_list
  std::string cfg = "self";     // none, full, self, initialize
  float guidance = 1.2f;
  float delta = 1.0f;
  std::uint64_t seed = 2;
  int width = 512, height = 512;  // multiples of 8
  bool similarity_filter = false;
  float similarity_threshold = 0.98f;
  int max_skip_frames = 10;
  std::string device = "auto";  // auto (CUDA when usable), cpu, cuda
  std::string dtype = "fp16";   // CUDA storage: fp16, bf16 or fp32 (the CPU computes in fp32)
  std::string encoder = "auto";
  int crf = 20;
};

struct Img2ImgStats {
  std::int64_t frames_in = 0;   // frames the pipeline took
  std::int64_t frames_out = 0;  // frames recorded
  std::int64_t warmup = 0;      // frames that filled the latent buffer (not shown)
  std::int64_t skipped = 0;     // SSF skips (the previous output repeated)
  std::uint64_t dropped = 0;    // live input frames replaced by newer ones
  std::int64_t unet_calls = 0, unet_rows = 0;
  std::int64_t unet_rows_per_frame = 0;  // the cfg mode's cost
  // Seconds spent per stage, summed over frames. Decoding runs on the
  // source's own thread, so decode_s is the time the worker waited for a
  // decoded frame (near 0 when the model is the bottleneck).
  double decode_s = 0, preprocess_s = 0, vae_encode_s = 0, unet_s = 0, vae_decode_s = 0, postprocess_s = 0;
  double elapsed_s = 0, fps = 0;
  bool prompt_truncated = false;
  std::string family, codec, cfg, t_index_list, output;
  std::string compute;  // "CUDA fp16", "CPU fp32"
};

// Runs to completion or until *cancel; the file is finished either way.
// Throws sc::Error for bad options, models or sources.
Img2ImgStats run_img2img(const Img2ImgOptions& options, const std::function<void(const Img2ImgStats&)>& progress,
                         const std::atomic<bool>* cancel = nullptr);

// The --stats text: per-stage milliseconds per frame, fps, UNet calls and
// SSF skips.
std::string format_img2img_stats(const Img2ImgStats& stats);

}  // namespace sc::app
