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

#include "app/modes/img2img/img2img_engine.h"

namespace sc::app {

struct Img2ImgOptions {
  Img2ImgModels models;
  Img2ImgSettings live;  // prompt, steps, strength, cfg, size, ...
  std::string source = "test";
  std::string output;           // .mp4 or .mkv
  std::int64_t max_frames = 0;  // input frames; 0 = until the source ends
  std::string encoder = "auto";
  int crf = 20;
};

struct Img2ImgStats {
  std::int64_t frames_in = 0;        // frames the pipeline took
  std::int64_t frames_out = 0;       // frames recorded
  std::int64_t warmup = 0;           // frames that filled the latent buffer (not shown)
  std::int64_t skipped = 0;          // SSF skips (the previous output repeated)
  std::int64_t flushed = 0;          // buffered frames pushed out at the end of a file
  std::int64_t pipeline_frames = 0;  // frames the pipeline ran (inputs and flush repeats)
  std::uint64_t dropped = 0;         // live input frames replaced by newer ones
  std::int64_t unet_calls = 0, unet_rows = 0;
  std::int64_t unet_rows_per_frame = 0;  // the cfg mode's cost
  // Seconds spent per stage, summed over frames. decode_s: the source's own
  // thread from one frame to the next (read, decode, convert; for a live
  // source also the wait for its next frame); input_wait_s: the worker
  // waiting for a frame (near 0 when the model is the bottleneck).
  double decode_s = 0, input_wait_s = 0, preprocess_s = 0, vae_encode_s = 0, unet_s = 0, vae_decode_s = 0,
         postprocess_s = 0;
  // Capture -> output: from a frame leaving the source to its restyled frame
  // leaving the pipeline (queues, the latent buffer's lag and the frame
  // buffer included), over every output frame.
  double latency_sum_s = 0, latency_max_s = 0;
  std::int64_t source_frames = 0;  // frames timed for decode_s (all the source delivered but the first)
  bool live_source = false;        // decode_s then includes the source's frame interval
  std::int64_t latency_frames = 0;
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
